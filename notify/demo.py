"""Demo-city layer of notify: message templates (the demo accounts' addresses come with them, in core.demo)."""

from .models import Notification, PublicWarning, Template

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
    return {}


def clear_demo() -> None:
    Notification.objects.all().delete()
    while PublicWarning.objects.exists():  # an update or cancel first: it protects the alert it follows
        PublicWarning.objects.filter(followed_by__isnull=True).delete()
    Template.objects.all().delete()
