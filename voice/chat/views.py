"""The "Try the agent" page, served by the call admin (voice.admin): the form, then the chat it starts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from agent.factory import MODEL, agent_kind
from voice.chat import SOCKET_PATH
from voice.chat.conversation import MAX_TEXT_CHARS
from voice.chat.forms import ChatStartForm
from voice.chat.permissions import may_chat


def agent_chat_view(request, *, model_admin):
    if not may_chat(request.user):
        raise PermissionDenied
    form = ChatStartForm(request.GET or None, user=request.user, admin_site=model_admin.admin_site)
    start = form.start_message() if form.is_bound and form.is_valid() else None
    if agent_kind() == MODEL:
        answered_by = f"the model agent ({settings.OPENAI_MODEL}), with the offline agent behind it"
    else:
        answered_by = "the offline agent (no OpenAI key is configured)"
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Try the agent",
        "form": form,
        "start": start,
        "caller": form.setup().caller if start else "",
        "socket_path": SOCKET_PATH,
        "max_chars": MAX_TEXT_CHARS,
        "answered_by": answered_by,
    }
    return TemplateResponse(request, "admin/voice/agent_chat.html", context)
