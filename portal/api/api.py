"""The /api/v1/ API: one NinjaAPI assembling each app's router, every operation with an Access
policy.

Each app owns its routes, schemas and policies in its own ``api.py`` (the same services as its
pages); this module only mounts them, and portal.api keeps what is the API's own: the tokens
(model, selectors, services, the ``api_token`` command) and their registration as the bearer
lookup of ``portal.core.api_auth.Access`` (apps.py).

The schema is at /api/v1/openapi.json and the docs page at /api/v1/docs (Swagger UI served from
django-ninja's bundled static files, so it works with no internet access). Every operation's
shared errors (401, 403, 422, 400/413, 429) are added to it by rule (portal/api/openapi.py), and
every error is answered as JSON (portal/core/api_errors.py).
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from portal.api.openapi import schema_add_error_responses
from portal.audit import api as audit_api
from portal.core.api_auth import SIGNED_IN
from portal.core.api_errors import api_error_handlers_install
from portal.drafting import api as drafting_api
from portal.knowledge import api as knowledge_api
from portal.qa import api as qa_api
from portal.review import api as review_api

# Router module -> the name its operations' ids carry. The ids are what generated clients name
# their methods after, so they stay those of the routers' first home (portal/api/<name>.py).
ROUTERS = {
    qa_api: "answers",
    knowledge_api: "knowledge",
    review_api: "review",
    audit_api: "audit",
    drafting_api: "drafting",
}
_ID_PREFIXES = {module.__name__: f"portal_api_{name}" for module, name in ROUTERS.items()}


class _PortalApi(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        view = operation.view_func
        prefix = _ID_PREFIXES.get(view.__module__, view.__module__.replace(".", "_"))
        return f"{prefix}_{view.__name__}"

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        operations = {
            (operation.operation_id or self.get_openapi_operation_id(operation)): operation
            for bound in self._get_bound_routers()
            for path_view in bound.path_operations.values()
            for operation in path_view.operations
        }
        return schema_add_error_responses(schema, operations)


api = _PortalApi(
    title="Cited Answers API",
    version="1",
    description=(
        "Cited answers from official policy and medical documents. Services authenticate with "
        "`Authorization: Bearer <token>` (`manage.py api_token create USER --name NAME`); "
        "browsers with their session, sending `X-CSRFToken` on POST, PUT, PATCH and DELETE. "
        "Permissions are the portal's roles (portal/accounts/roles.py)."
    ),
    urls_namespace="api-v1",
    auth=SIGNED_IN,  # an operation that forgets its own policy still requires a signed-in user
    docs=Swagger(),
)
for module in ROUTERS:
    api.add_router("", module.router)
api_error_handlers_install(api)
