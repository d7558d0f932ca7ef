"""URL patterns of /api/v1/, each stamped with ``access_policy`` like the portal's views.

ninja serves all methods of one path from one Django view, so the stamp is per path: the union
of its operations' permissions, and a path may not mix public and permissioned methods (that
would hide a permissioned method from the URL-walking access test). ``api_policies`` keeps the
per-method policies for the API access test.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ImproperlyConfigured
from ninja.utils import normalize_path, replace_path_param_notation

from portal.api.api import api
from portal.core.api_auth import Access


def _operation_policy(operation, route: str) -> tuple[str, ...]:
    policies = [cb.policy for cb in operation.auth_callbacks if isinstance(cb, Access)]
    if len(policies) != 1 or len(operation.auth_callbacks) != 1:
        raise ImproperlyConfigured(f"API route {route} needs exactly one Access policy as auth")
    return policies[0]


def _route_policies() -> dict[str, dict[str, tuple[str, ...]]]:
    found: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for bound in api._get_bound_routers():  # ninja builds its URL patterns from the same walk
        prefix = replace_path_param_notation(bound.prefix)
        for path, path_view in bound.path_operations.items():
            route = normalize_path(
                "/".join(p for p in (prefix, replace_path_param_notation(path)) if p)
            ).lstrip("/")
            for operation in path_view.operations:
                for method in operation.methods:
                    found[route][method] = _operation_policy(operation, route)
    return found


def _stamped(patterns):
    policies = _route_policies()
    for pattern in patterns:
        route = str(pattern.pattern)
        by_method = policies.get(route)
        if by_method is None:  # the schema, the docs page and the API root
            pattern.callback.access_policy = ("public",)
            pattern.callback.api_policies = {}
            continue
        kinds = {policy[0] for policy in by_method.values()}
        if kinds == {"public"}:
            stamp: tuple[str, ...] = ("public",)
        elif "public" in kinds:
            raise ImproperlyConfigured(f"API path {route} mixes public and permissioned methods")
        else:
            perms = sorted({perm for policy in by_method.values() for perm in policy[1:]})
            stamp = ("requires", *perms)
        pattern.callback.access_policy = stamp
        pattern.callback.api_policies = dict(by_method)
    return patterns


_patterns, _ninja_app_name, _namespace = api.urls
# include("portal.api.urls") namespaces by app_name: use the API's own ("api-v1"), which the
# docs page reverses to find the schema.
app_name = api.urls_namespace
urlpatterns = _stamped(list(_patterns))
