from django.contrib.auth import views as auth_views
from django.urls import path

from shiftdesk.accounts import admin_views, passwords, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/", views.manage_account, name="manage_account"),
    path("account/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("admin/integrations/", views.admin_integrations, name="admin_integrations"),
    path("admin/accounts/", admin_views.admin_accounts, name="admin_accounts"),
    path("admin/accounts/new/", admin_views.admin_account_create, name="admin_account_create"),
    path("admin/accounts/<int:user_id>/", admin_views.admin_account_edit, name="admin_account_edit"),
    path(
        "admin/accounts/<int:user_id>/deactivate/",
        admin_views.admin_account_deactivate,
        name="admin_account_deactivate",
    ),
    path(
        "admin/accounts/<int:user_id>/unlock/", admin_views.admin_account_unlock, name="admin_account_unlock"
    ),
    path(
        "admin/accounts/<int:user_id>/activate/",
        admin_views.admin_account_activate,
        name="admin_account_activate",
    ),
]
