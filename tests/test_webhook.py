"""Webhook mode end to end: `python -m bot` with `STYLEBOT_WEBHOOK_URL`, the fake Bot API as
Telegram, and the test posting updates to the bot's webhook server as Telegram would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from bot.config import Config, ConfigError
from tests.fake_telegram import (
    FakeTelegram,
    User,
    bot_env,
    free_port,
    piped_bot_process,
    private_chat,
    stop_with_sigterm,
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def post_update(url: str, update: dict, secret: str | None) -> int:
    """POSTs `update` like Telegram does; returns the HTTP status. PTB calls setWebhook just
    before its server listens, so a refused connection is tried again for a while."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(url, json.dumps(update).encode(), headers, method="POST")
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError) \
                    or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_webhook_answers_updates_with_the_secret_and_refuses_the_others(tmp_path):
    port = free_port()
    alice = User(7, "Alice")
    chat = private_chat(alice)
    with FakeTelegram() as fake:
        env = bot_env(fake, tmp_path, STYLEBOT_PRESETS_DIR=str(tmp_path),
                      STYLEBOT_WEBHOOK_URL="https://bot.example.test/telegram/hook/",
                      STYLEBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                      STYLEBOT_LOG_FORMAT="json", TF_CPP_MIN_LOG_LEVEL="3")
        with piped_bot_process(env, tmp_path) as process:
            hook = fake.wait_for_blocking("setWebhook", timeout=60)
            assert hook.params["url"] == "https://bot.example.test/telegram/hook/"
            secret = hook.params["secret_token"]  # generated: no STYLEBOT_WEBHOOK_SECRET
            assert len(secret) >= 32
            assert not fake.find("getUpdates")
            url = f"http://127.0.0.1:{port}/telegram/hook"

            refused = [fake.user_sends_text(chat, alice, "/help") for _ in range(2)]
            assert post_update(url, {"update_id": 901, "message": refused[0]}, None) == 403
            assert post_update(url, {"update_id": 902, "message": refused[1]}, "wrong") == 403

            message = fake.user_sends_text(chat, alice, "/help")
            assert post_update(url, {"update_id": 903, "message": message}, secret) == 200
            answer = fake.wait_for_blocking(
                "sendMessage", lambda c: c.reply_to == message["message_id"], timeout=30)
            assert "/styles" in answer.text
            refused_ids = {m["message_id"] for m in refused}
            assert not fake.find("sendMessage", lambda c: c.reply_to in refused_ids)

            stderr = stop_with_sigterm(process)
    assert process.returncode == 0, stderr
    assert secret not in stderr and fake.token not in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    webhook = next(line for line in lines if line["msg"] == "receiving updates by webhook")
    assert webhook["listen"] == f"127.0.0.1:{port}"
    assert webhook["secret_token"].startswith("generated")


def test_webhook_settings_are_checked():
    base = {"TELEGRAM_BOT_TOKEN": "1:x", "STYLEBOT_WEBHOOK_URL": "https://bot.example.test/hook"}
    config = Config.from_env({**base, "STYLEBOT_WEBHOOK_SECRET": "fixed_secret-1",
                              "STYLEBOT_WEBHOOK_LISTEN": "[::]:8444"})
    assert (config.webhook_secret, config.webhook_secret_generated) == ("fixed_secret-1", False)
    assert config.webhook_listen == ("::", 8444)
    assert "fixed_secret" not in repr(config)
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x"}).webhook_secret is None
    with pytest.raises(ConfigError, match="https"):
        Config.from_env({**base, "STYLEBOT_WEBHOOK_URL": "http://bot.example.test/hook"})
    with pytest.raises(ConfigError, match="STYLEBOT_WEBHOOK_SECRET"):
        Config.from_env({**base, "STYLEBOT_WEBHOOK_SECRET": "has spaces"})
    with pytest.raises(ConfigError, match="host:port"):
        Config.from_env({**base, "STYLEBOT_WEBHOOK_LISTEN": "0.0.0.0"})


def test_unsetting_the_webhook_goes_back_to_polling(tmp_path):
    """A bot that ran by webhook and is restarted without STYLEBOT_WEBHOOK_URL polls again:
    it deletes the webhook first (Telegram answers getUpdates with 409 while one is set), then
    answers what users send."""
    alice = User(7, "Alice")
    chat = private_chat(alice)
    with FakeTelegram() as fake:
        common = {"STYLEBOT_PRESETS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
        hooked = bot_env(fake, tmp_path, **common,
                         STYLEBOT_WEBHOOK_URL="https://bot.example.test/telegram/hook/",
                         STYLEBOT_WEBHOOK_LISTEN=f"127.0.0.1:{free_port()}")
        with piped_bot_process(hooked, tmp_path) as process:
            fake.wait_for_blocking("setWebhook", timeout=60)
            stop_with_sigterm(process)
        assert fake.webhook is not None  # Telegram keeps it after the bot stops
        mark = fake.mark()
        with piped_bot_process(bot_env(fake, tmp_path, **common), tmp_path) as process:
            fake.wait_for_blocking("deleteWebhook", after=mark, timeout=60)
            message = fake.user_sends_text(chat, alice, "/help")
            answer = fake.wait_for_blocking(
                "sendMessage", lambda c: c.reply_to == message["message_id"], timeout=30)
            assert "/styles" in answer.text
            stop_with_sigterm(process)
        assert fake.webhook is None
