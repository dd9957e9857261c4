"""Words of the HTTP API that the lifecycle's own reasons (:mod:`states.reasons`) do not have.

Kept apart from :data:`states.reasons.MESSAGES` because they are about HTTP (tokens, routes,
request bodies), not about documents; :func:`text` looks here first and falls back there.
"""

from __future__ import annotations

from typing import Any

from states.reasons import Reason

API_MESSAGES: dict[str, dict[str, str]] = {
    "unauthenticated": {
        "zh": "需要有效的 API 令牌(请求头 Authorization: Bearer <令牌>)",
        "en": "a valid API token is required (header Authorization: Bearer <token>)",
    },
    "token_invalid": {"zh": "API 令牌无效或已撤销", "en": "the API token is unknown or revoked"},
    "no_such_token": {"zh": "没有编号为 {id} 的令牌", "en": "no token with id {id}"},
    "no_such_route": {"zh": "没有此地址: {path}", "en": "no such address: {path}"},
    "method_not_allowed": {"zh": "{path} 不支持 {method} 方法", "en": "{method} is not allowed on {path}"},
    "too_large": {"zh": "请求体超过 {limit} 字节", "en": "the request body is larger than {limit} bytes"},
    "unavailable": {
        "zh": "数据库暂不可用或繁忙,请稍后再试",
        "en": "the database is unavailable or busy; try again shortly",
    },
    "internal_error": {
        "zh": "服务器内部错误,已记录在服务器日志中",
        "en": "internal error; it has been written to the server log",
    },
}

# Problem titles: one short phrase per problem type, as RFC 9457 wants.
TITLES: dict[str, dict[str, str]] = {
    "unauthenticated": {"zh": "未认证", "en": "Unauthenticated"},
    "forbidden": {"zh": "无权操作", "en": "Forbidden"},
    "not_found": {"zh": "未找到", "en": "Not found"},
    "method_not_allowed": {"zh": "方法不允许", "en": "Method not allowed"},
    "refused": {"zh": "操作被拒绝", "en": "Refused"},
    "concurrent_change": {"zh": "并发修改冲突", "en": "Concurrent change"},
    "invalid_input": {"zh": "输入无效", "en": "Invalid input"},
    "too_large": {"zh": "请求过大", "en": "Request too large"},
    "unavailable": {"zh": "服务暂不可用", "en": "Service unavailable"},
    "internal_error": {"zh": "内部错误", "en": "Internal error"},
    "error": {"zh": "错误", "en": "Error"},
}

# What a validation error of pydantic/FastAPI means, in Chinese (English uses pydantic's own
# sentence). Keys are pydantic error types, plus the custom ones of ``schemas.py``.
VALIDATION_ZH: dict[str, str] = {
    "missing": "必填",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "string_type": "必须是文本",
    "bool_parsing": "必须是 true 或 false",
    "bool_type": "必须是 true 或 false",
    "enum": "必须是以下之一: {expected}",
    "literal_error": "必须是以下之一: {expected}",
    "less_than_equal": "不能大于 {le}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "greater_than": "必须大于 {gt}",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_pattern_mismatch": "格式不对",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    "extra_forbidden": "不是可用的字段",
    "list_type": "必须是列表",
    "dict_type": "必须是 JSON 对象",
    "model_type": "必须是 JSON 对象",
    "model_attributes_type": "必须是 JSON 对象",
    "datetime_parsing": "不是 ISO 8601 时间(如 2024-02-09T10:30:00+08:00)",
    "datetime_from_date_parsing": "不是 ISO 8601 时间(如 2024-02-09T10:30:00+08:00)",
    "datetime_type": "不是 ISO 8601 时间(如 2024-02-09T10:30:00+08:00)",
    "timezone_aware": "必须带时区(如 +08:00)",
    "bad_text": "不能包含 NUL 等控制字符或无效的 Unicode",
    "one_line": "必须是一行文字",
    "year_range": "年份必须在 {low} 到 {high} 之间",
    "bad_instant": "不是 ISO 8601 日期或时间(如 2024-02-09 或 2024-02-09T10:30+08:00)",
    "bad_version": "必须是文件的版本号(整数),例如 If-Match: 3",
    "upload_type": "必须是上传的文件",
    "year_mismatch": "文件是 {file_year} 年的日历,不是 {year} 年的",
    "file_too_large": "文件超过 {limit} 字节",
}


def text(reason: Reason, lang: str) -> str:
    """The sentence for one reason: the API's own words, else the lifecycle's."""
    templates = API_MESSAGES.get(reason.code)
    if templates is None:
        return reason.text(lang)
    template = templates.get(lang) or templates["en"]
    try:
        return template.format(**dict(reason.params))
    except (KeyError, IndexError):
        return template


def render(reasons: tuple[Reason, ...] | list[Reason], lang: str) -> str:
    sep = ";" if lang == "zh" else "; "
    return sep.join(text(r, lang) for r in reasons)


def title(code: str, lang: str) -> str:
    return (TITLES.get(code) or TITLES["error"])[lang if lang in ("zh", "en") else "en"]


def validation_problem(error_type: str, english: str, ctx: dict[str, Any] | None, lang: str) -> str:
    """One validation error in words, without the offending input."""
    if lang != "zh":
        return english.removeprefix("Value error, ")
    template = VALIDATION_ZH.get(error_type)
    if template is None:
        return english.removeprefix("Value error, ")
    try:
        return template.format(**(ctx or {}))
    except (KeyError, IndexError):
        return template
