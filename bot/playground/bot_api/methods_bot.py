"""The Bot API methods about the bot itself and its standing in chats: getMe, the command
menus, the webhook (kept while set: getUpdates then answers 409; the tests post the updates
themselves), getChatMember (creator, administrator or member, from `chat_owners` and
`chat_admins`), answerInlineQuery (kept for whoever asked: the page's inline panel, the
tests), and the methods the local Bot API records and answers true without doing
anything (descriptions, logOut, close)."""

from __future__ import annotations

from bot.playground.bot_api.limits import ApiError
from bot.playground.bot_api.state import Method, TelegramState, accepted

_ADMIN_RIGHTS = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                 "can_restrict_members", "can_promote_members", "can_change_info",
                 "can_invite_users", "can_post_stories", "can_edit_stories",
                 "can_delete_stories")


def get_me(state: TelegramState, params: dict, files: dict) -> dict:
    return state.bot_user


def set_my_commands(state: TelegramState, params: dict, files: dict) -> bool:
    commands = list(params.get("commands") or [])
    language = params.get("language_code") or None
    state.commands_by_language[language] = commands
    if language is None:
        state.commands = commands
    return True


def get_my_commands(state: TelegramState, params: dict, files: dict) -> list:
    return state.commands


def set_webhook(state: TelegramState, params: dict, files: dict) -> bool:
    if not str(params.get("url", "")).startswith("https://"):
        raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
    state.webhook = dict(params)
    return True


def delete_webhook(state: TelegramState, params: dict, files: dict) -> bool:
    state.webhook = None
    if params.get("drop_pending_updates"):
        state.updates.pending.clear()
    return True


def get_webhook_info(state: TelegramState, params: dict, files: dict) -> dict:
    return {"url": (state.webhook or {}).get("url", ""), "has_custom_certificate": False,
            "pending_update_count": len(state.updates.pending)}


def get_chat_member(state: TelegramState, params: dict, files: dict) -> dict:
    chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
    user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
    if state.chat_owners.get(chat_id) == user_id:
        return {"status": "creator", "user": user, "is_anonymous": False}
    if user_id in state.chat_admins.get(chat_id, set()):
        return {"status": "administrator", "user": user, "can_be_edited": False,
                "is_anonymous": False, **dict.fromkeys(_ADMIN_RIGHTS, True)}
    return {"status": "member", "user": user}


def answer_inline_query(state: TelegramState, params: dict, files: dict) -> bool:
    """Checks the answer as Telegram does (a query it knows, unanswered; results with distinct
    ids; a cached photo's file id it holds) and keeps it for the query."""
    query_id = str(params.get("inline_query_id", ""))
    if query_id not in state.inline_answers or state.inline_answers[query_id] is not None:
        raise ApiError(400, "Bad Request: query is too old and response timeout expired or "
                            "query ID is invalid")
    results = params.get("results")
    if not isinstance(results, list) or len(results) > 50:
        raise ApiError(400, "Bad Request: can't parse inline query results")
    ids = [str(result.get("id", "")) for result in results if isinstance(result, dict)]
    if len(ids) != len(results) or len(set(ids)) != len(ids) or not all(ids):
        raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
    for result in results:
        if result.get("type") == "photo" and result.get("photo_file_id") not in state.stored_files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
    state.inline_answers[query_id] = dict(params)
    return True


METHODS: dict[str, Method] = {
    "getMe": get_me,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "getChatMember": get_chat_member,
    "answerInlineQuery": answer_inline_query,
    "setMyDescription": accepted,
    "setMyShortDescription": accepted,
    "logOut": accepted,
    "close": accepted,
}
