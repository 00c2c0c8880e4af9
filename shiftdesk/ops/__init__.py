"""Running ShiftDesk for real: the production system checks, /healthz, the workers' heartbeat, `rotate_keys`."""
