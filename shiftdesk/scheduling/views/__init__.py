"""Scheduling pages, one module per area. Views parse, call one action, render; each states who may see it."""
