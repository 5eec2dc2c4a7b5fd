"""Demo-city layer of notify: message templates, and an e-mail address for each demo account (under the reserved
.invalid domain, so nothing can leave for a real mailbox) so that e-mail notifications have somewhere to go."""

from core.models import User

from .models import Notification, PublicWarning, Template

DEMO_MAIL_DOMAIN = "cityops.invalid"
TEMPLATES = [
    ("response-activated", "应急响应启动", "{level}级应急响应启动：{incident}",
     "{incident}（{address}）已启动{level}级应急响应。请立即到岗，并于{minutes}分钟内确认。", "urgent"),
    ("assist-request", "协助处置", "请协助处置：{incident}", "{incident}（{address}）需要{agency}协助处置，请确认。",
     "warning"),
    ("shift-reminder", "交接班提醒", "交接班提醒：{desk}", "{desk}将于{time}交接班，请完成交接事项。", "info"),
]  # fmt: skip


def load_demo(city, context: dict) -> dict:
    Template.objects.bulk_create(
        Template(code=code, name=name, subject=subject, body=body, severity=severity)
        for code, name, subject, body, severity in TEMPLATES
    )
    for user in User.objects.filter(email=""):
        user.email = f"{user.username}@{DEMO_MAIL_DOMAIN}"
        user.save(update_fields=["email"])
    return {}


def clear_demo() -> None:
    Notification.objects.all().delete()
    while PublicWarning.objects.exists():  # an update or cancel first: it protects the alert it follows
        PublicWarning.objects.filter(followed_by__isnull=True).delete()
    Template.objects.all().delete()
