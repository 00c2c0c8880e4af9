"""Tests of the availability app: free/busy from Outlook, conflicts, grid shading, auto-assign."""
