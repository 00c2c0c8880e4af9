"""Availability tests for Password Authentication (EWS) connections."""
