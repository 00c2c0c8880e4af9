"""Small shared helpers with no domain knowledge: encryption at rest, the outgoing HTTP factory."""
