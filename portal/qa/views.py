from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.audit.services import audit_record
from portal.core.access import public
from portal.qa.services import MAX_QUESTION_CHARS, answer_generate


@public
@require_GET
def ask(request: HttpRequest) -> HttpResponse:
    question = request.GET.get("q", "").strip()
    result = answer_generate(question=question, user=request.user) if question else None
    if result is not None:
        audit_record(request=request, action="qa.ask", detail={"passages": len(result.passages)})
    return render(
        request,
        "qa/ask.html",
        {"question": question, "result": result, "max_chars": MAX_QUESTION_CHARS},
    )


@public
@require_GET
def ask_api(request: HttpRequest) -> JsonResponse:
    question = request.GET.get("q", "").strip()
    if not question:
        return JsonResponse({"error": "the q parameter is required"}, status=400)
    result = answer_generate(question=question, user=request.user)
    audit_record(request=request, action="qa.ask", detail={"passages": len(result.passages)})
    return JsonResponse(
        {
            "mode": result.mode,
            "passages": [
                {
                    "chunk_id": p.chunk_id,
                    "score": round(p.score, 4),
                    "text": p.text,
                    "document": p.document_title,
                    "collection": p.collection,
                    "version": p.version,
                    "section": list(p.heading_path),
                    "page": p.page_start,
                    "effective_from": p.effective_from,
                }
                for p in result.passages
            ],
            "timings": result.timings,
        },
        json_dumps_params={"ensure_ascii": False},
    )
