from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # The apps' routers declare their access with portal.core.api_auth.Access, which sits
        # below every app and so cannot import the tokens: they are this app's to hand it.
        from portal.api.selectors import api_token_user  # models: not before the registry is
        from portal.core.api_auth import bearer_lookup_register

        bearer_lookup_register(api_token_user)
