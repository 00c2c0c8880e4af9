"""Provider-neutral calendar sync engine: connections, event links, reconciliation, export, Integration Status."""
