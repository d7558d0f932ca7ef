"""Status codes that templates translate with ``{% translate value %}``.

Model choices here keep plain English labels (changing them would touch every app's models), and
``makemessages`` cannot see a value translated at run time, so the codes are listed once with
gettext_noop for extraction; portal/locale holds their Chinese.
"""

from django.utils.translation import gettext_noop

STATUS_WORDS = (
    # ingestion jobs and document versions
    gettext_noop("queued"),
    gettext_noop("running"),
    gettext_noop("done"),
    gettext_noop("failed"),
    gettext_noop("duplicate"),
    # answers
    gettext_noop("pending"),
    gettext_noop("answered"),
    gettext_noop("refused"),
    gettext_noop("held"),
    gettext_noop("rejected"),
    # audit outcomes
    gettext_noop("ok"),
    gettext_noop("denied"),
)
