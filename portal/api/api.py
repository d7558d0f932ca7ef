"""The /api/v1/ API: one NinjaAPI, one router per domain, every operation with an Access policy.

The schema is at /api/v1/openapi.json and the docs page at /api/v1/docs (Swagger UI served from
django-ninja's bundled static files, so it works with no internet access).
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from portal.api import answers, audit, drafting, knowledge, review
from portal.api.auth import SIGNED_IN

api = NinjaAPI(
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
for module in (answers, knowledge, review, audit, drafting):
    api.add_router("", module.router)
