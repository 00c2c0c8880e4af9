"""The app-registration portal (/portal/): the seed FAQ's Step 1 on plain HTML forms."""
