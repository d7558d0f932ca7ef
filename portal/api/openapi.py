"""The error responses of every operation in /api/v1/openapi.json, derived from what it is.

Each router declares its successes and its own domain errors (404 no such draft, 409 already
reviewed...) in ``response=``; the errors that come from the API's shared machinery are added
here, once, by rule, so no operation can forget them:

- 401 on every operation: a bearer token that is malformed, unknown or revoked is refused even on
  public operations (portal/core/api_auth.py), and permissioned ones need a caller;
- 403 where a permission is required, and on unsafe methods (session callers without CSRF token);
- 422 where there is anything to validate (path, query, body, form or file parameters);
- 400 and 413 where there is a request body (it does not parse; it is over the upload limits,
  portal/core/api_errors.py);
- 429 with Retry-After on the operations that spend a rate-limit budget (``RATE_LIMITED``).

tests/portal/test_api_errors.py walks the schema against these rules and spends each budget.
"""

from __future__ import annotations

from collections.abc import Iterable

from ninja.params.models import BodyModel, FileModel, FormModel
from pydantic import BaseModel

from portal.core.api_auth import UNSAFE_METHODS, Access
from portal.core.api_responses import Error, RateLimitedError, ValidationErrorOut
from portal.drafting import api as drafting_api
from portal.knowledge import api as knowledge_api
from portal.qa import api as qa_api

REF = "#/components/schemas/{model}"

# Operations that spend a budget of portal/core/ratelimit.py, and so may answer 429: "ask" is
# counted inside the answer engine (the three ways of asking share it), "upload" and "draft" by
# the views before any work. A new costly operation is added here, next to its scope.
RATE_LIMITED = {
    qa_api.ask: "ask",
    qa_api.ask_stream: "ask",
    qa_api.chat_completions: "ask",
    knowledge_api.documents_upload: "upload",
    drafting_api.draft_create: "draft",
}


def _json(model: type[BaseModel]) -> dict:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _access(operation) -> Access | None:
    return next((cb for cb in operation.auth_callbacks if isinstance(cb, Access)), None)


def _has_body(operation) -> bool:
    return any(issubclass(m, BodyModel | FormModel | FileModel) for m in operation.models)


def error_responses(operation) -> dict[int, dict]:
    """The shared-machinery errors ``operation`` can answer, as OpenAPI response objects."""
    access = _access(operation)
    public = access is not None and access.public
    unsafe = bool(UNSAFE_METHODS & set(operation.methods))
    found: dict[int, dict] = {
        401: {
            "description": (
                "A bearer token was sent and is malformed, unknown or revoked (callers without "
                "credentials are served as anonymous citizens)"
                if public
                else "Authentication required, or the bearer token is malformed, unknown or revoked"
            ),
            "content": _json(Error),
        }
    }
    if not public or unsafe:
        reasons = []
        if not public:
            perms = ", ".join(access.perms) if access is not None and access.perms else ""
            reasons.append(f"the caller lacks the permission {perms}".rstrip())
        if unsafe:
            reasons.append("a session caller did not send the X-CSRFToken header")
        text = "; or ".join(reasons)
        found[403] = {"description": text[0].upper() + text[1:], "content": _json(Error)}
    if operation.models:
        found[422] = {
            "description": "A parameter or the body does not validate (each issue located)",
            "content": _json(ValidationErrorOut),
        }
    if _has_body(operation):
        found[400] = {"description": "The request body cannot be parsed", "content": _json(Error)}
        found[413] = {
            "description": "The request is over the upload limits (DATA_UPLOAD_MAX_MEMORY_SIZE, "
            "DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_NUMBER_FILES)",
            "content": _json(Error),
        }
    scope = RATE_LIMITED.get(operation.view_func)
    if scope is not None:
        found[429] = {
            "description": f"Over the caller's {scope!r} budget (RATE_LIMIT_ASK_PER_MINUTE*); "
            "retry after the seconds in Retry-After",
            "headers": {
                "Retry-After": {
                    "description": "seconds until the budget's window ends",
                    "schema": {"type": "integer"},
                }
            },
            "content": _json(RateLimitedError),
        }
    return found


def _either(declared: dict, shared: dict) -> dict:
    """An operation's own 422 (the review edit's failed checks) or ninja's validation 422."""
    body = declared.get("content", {}).get("application/json", {}).get("schema")
    if body is None:
        return shared
    alternatives = [body, shared["content"]["application/json"]["schema"]]
    return {
        "description": f"{declared.get('description', '')}; or: {shared['description']}",
        "content": {"application/json": {"schema": {"oneOf": alternatives}}},
    }


def _components(schemas: dict, models: Iterable[type[BaseModel]]) -> None:
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas.setdefault(model.__name__, schema)


def schema_add_error_responses(schema: dict, operations: dict[str, object]) -> dict:
    """Add ``error_responses`` to each operation of ``schema`` (operationId -> operation).

    What a router declared itself for a status stays (its own description and body, e.g. the
    review edit's 422 with each sentence's check); 429 is always this module's, so its body and
    Retry-After header are the limiter's; an operation's own 422 is offered beside ninja's.
    """
    for methods in schema["paths"].values():
        for details in methods.values():
            operation = operations.get(details.get("operationId"))
            if operation is None:
                continue
            # ninja keys responses by int status, openapi_extra may by str: compare as ints.
            responses = {int(status): r for status, r in details.get("responses", {}).items()}
            for status, response in error_responses(operation).items():
                if status == 429 or status not in responses:
                    responses[status] = response
                elif status == 422:
                    responses[status] = _either(responses[status], response)
            details["responses"] = dict(sorted(responses.items()))
    _components(
        schema.setdefault("components", {}).setdefault("schemas", {}),
        (Error, RateLimitedError, ValidationErrorOut),
    )
    return schema
