"""Management commands of the availability app."""
