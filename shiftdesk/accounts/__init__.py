"""Users, roles, login, and the Manage Account pages."""
