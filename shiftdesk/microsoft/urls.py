"""Routes of the Azure AD OAuth 2 box (admin), the OAuth 2 Authorization box (users) and the Redirect URL."""

from django.urls import path

from shiftdesk.microsoft import views

urlpatterns = [
    path("admin/integrations/azure/", views.save_azure_ad_settings, name="azure_ad_settings"),
    path(
        "admin/integrations/azure/save-anyway/",
        views.save_azure_ad_settings_anyway,
        name="azure_ad_settings_anyway",
    ),
    path("admin/integrations/azure/admin-consent/", views.admin_consent, name="azure_ad_admin_consent"),
    path("account/calendar-sync/microsoft/authorize/", views.authorize, name="microsoft_authorize"),
    path("account/calendar-sync/microsoft/calendars/", views.save_calendars, name="microsoft_save_calendars"),
    path("account/calendar-sync/microsoft/remove/", views.remove_authorization, name="microsoft_remove"),
    # The Redirect URL registered with Microsoft: keep this path stable, admins have registered it.
    path("microsoft/oauth2/callback/", views.callback, name="microsoft_callback"),
]
