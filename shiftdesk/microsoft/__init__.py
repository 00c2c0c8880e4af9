"""Outlook through Microsoft's identity platform and Graph: the Azure AD OAuth 2 box, MSAL, the Graph provider."""
