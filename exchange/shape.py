"""The record the upper platform receives: a case and the step of its history that produced the record.

The 城市运行管理服务平台 data standard (CJ/T 545-2021) names the exchange but its field list is not public; the
fields here are the case attributes the public standards of 数字城管 fix (class codes of GB/T 47678.5-2026 / CJ/T 214,
15-digit unit grids, GB/T 2260 area codes, the lifecycle times of CJ/T 315 / GB/T 30428.8) under English keys, each
mapped in README "Upward exchange (数据交换)". Positions are CGCS2000 (EPSG:4490): our stored WGS84 numbers, which
differ from CGCS2000 by centimetres, far below a reported position's accuracy.
"""

from django.utils import timezone

from grid import workflow
from grid.models import Case, CaseTransition, Kind, Scheme
from grid.selectors import STEP_LABELS

SCHEMA = "cityops-exchange/1"
TASK_KEY_PREFIX = "upper-platform:"  # a task sent down is reported with this idempotency key + the upper task id

SOURCE_NAMES = {  # 问题来源
    Case.Channel.INSPECTOR: "监督员上报",
    Case.Channel.HOTLINE: "热线受理",
    Case.Channel.OPEN311: "公众举报",
    Case.Channel.UPPER_PLATFORM: "上级交办",
}
KIND_NAMES = {Kind.COMPONENT: "部件", Kind.EVENT: "事件"}
SCHEME_NAMES = {Scheme.GBT47678: "GB/T 47678.5-2026", Scheme.CJT214: "CJ/T 214-2007"}
STEP_NAMES = {**STEP_LABELS, **{str(action): label for action, label in workflow.ACTION_LABELS.items()}}


def record_id(case_number: str, seq: int) -> str:
    return f"{case_number}-{seq:04d}"


def _time(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _coded(code: str, name: str) -> dict:
    return {"code": code, "name": name}


def _state(stage: str) -> dict:
    return _coded(stage, workflow.STATE_LABELS[workflow.State(stage)])


def task_id(case: Case) -> str | None:
    """The upper platform's own id of a case it sent down, None for our own cases."""
    key = case.idempotency_key or ""
    return key.removeprefix(TASK_KEY_PREFIX) if case.channel == Case.Channel.UPPER_PLATFORM else None


def case_record(case: Case, step: CaseTransition, seq: int, platform_code: str) -> dict:
    """The JSON of one record; ``case`` as it stands right after ``step`` (same transaction)."""
    category, department = case.category, case.department
    return {
        "record_id": record_id(case.number, seq),
        "schema": SCHEMA,
        "platform_code": platform_code,
        "case": {
            "case_number": case.number,
            "task_id": task_id(case),
            "source": _coded(case.channel, SOURCE_NAMES.get(case.channel, case.channel)),
            "kind": _coded(category.kind, KIND_NAMES.get(category.kind, category.kind)),
            "category_scheme": SCHEME_NAMES.get(category.scheme, category.scheme),
            "major_class": _coded(category.major_code, category.major_name),
            "minor_class": _coded(category.standard_code, category.name),
            "description": case.description,
            "address": case.address,
            "district": _coded(case.district.code, case.district.name) if case.district_id else None,
            "street": _coded(case.street.code, case.street.name) if case.street_id else None,
            "grid_code": case.grid.code if case.grid_id else None,
            "component_id": case.component.ident if case.component_id else None,
            "location": {"crs": "EPSG:4490", "lon": round(case.geom.x, 7), "lat": round(case.geom.y, 7)},
            "status": _state(case.stage),
            "department": _coded(department.code, department.name) if department else None,
            "reported_at": _time(case.reported_at),
            "filed_at": _time(case.filed_at),
            "dispatched_at": _time(case.dispatched_at),
            "handling_deadline": _time(case.handling_deadline),
            "handled_at": _time(case.handled_at),
            "closed_at": _time(case.closed_at),
            "voided_at": _time(case.voided_at),
        },
        "step": {
            "seq": seq,
            "action": _coded(step.action, STEP_NAMES.get(step.action, step.action)),
            "from_status": _state(step.from_stage) if step.from_stage else None,
            "to_status": _state(step.to_stage),
            "at": _time(step.at),
            "department": _coded(step.department.code, step.department.name) if step.department_id else None,
            "roles": list(step.roles),
            "note": step.note,
        },
    }
