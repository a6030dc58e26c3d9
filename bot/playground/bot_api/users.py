"""The users' side: what people do in Telegram (send texts, photos, albums, files and moving
pictures, tap the bot's buttons) turned into messages and the updates the bot receives. The
playground's page and the tests play the users through these methods, from any thread:

    api.user_sends_photo(chat, user, jpeg_bytes, caption="wave")
    api.user_taps("r:12", message, user=user)
"""

from __future__ import annotations

from typing import Any

from bot.playground.bot_api.pictures import image_size, thumbnail
from bot.playground.bot_api.records import Chat, User
from bot.playground.bot_api.state import TelegramState


class UsersSide(TelegramState):
    def user_sends(
        self,
        chat: Chat,
        user: User,
        *,
        reply_to: int | dict | None = None,
        caption: str | None = None,
        text: str | None = None,
        **content: Any,
    ) -> dict:
        """Any message: `content` holds the message fields (photo=..., sticker=..., video=...)."""
        with self.lock:
            message = self.new_message(chat.as_dict(), user.as_dict())
            if text is not None:
                message["text"] = text
                if entities := command_entities(text):
                    message["entities"] = entities
            if caption is not None:
                message["caption"] = caption
                if entities := command_entities(caption):
                    message["caption_entities"] = entities
            message.update(content)
            if reply_to is not None:
                message["reply_to_message"] = self._reply_target(chat.id, reply_to)
            self.store(message)
            self.updates.push({"message": message})
            return message

    def user_sends_text(
        self, chat: Chat, user: User, text: str, reply_to: int | dict | None = None
    ) -> dict:
        return self.user_sends(chat, user, reply_to=reply_to, text=text)

    def user_sends_photo(
        self,
        chat: Chat,
        user: User,
        image_bytes: bytes,
        caption: str | None = None,
        reply_to: int | dict | None = None,
        *,
        file_size: int | None = None,
    ) -> dict:
        """A photo message (a thumbnail plus the full size, as Telegram sends them)."""
        photo = self.photo_sizes(image_bytes, file_size=file_size)
        return self.user_sends(chat, user, reply_to=reply_to, caption=caption, photo=photo)

    def photo_sizes(self, image_bytes: bytes, *, file_size: int | None = None) -> list[dict]:
        """A message's `photo` field: a thumbnail, then the full size."""
        width, height = image_size(image_bytes)
        full = self.add_file(image_bytes, "photos", file_size=file_size)
        thumb_bytes = thumbnail(image_bytes)
        tw, th = image_size(thumb_bytes)
        thumb = self.add_file(thumb_bytes, "thumbnails")
        return [{**thumb, "width": tw, "height": th}, {**full, "width": width, "height": height}]

    def user_sends_album(self, chat: Chat, user: User, images: list[bytes], *,
                         captions: dict[int, str] | None = None,
                         order: list[int] | None = None) -> list[dict]:
        """An album (a media group): one message per image sharing a `media_group_id`, in
        message-id order; their updates arrive in `order` (indexes; default: as sent; one
        left out is a part the bot does not see, as with privacy mode in a group).
        `captions` maps an index to its caption."""
        captions = captions or {}
        with self.lock:
            group_id = self.new_media_group_id()
            messages = []
            for index, data in enumerate(images):
                message = self.new_message(chat.as_dict(), user.as_dict())
                message["media_group_id"] = group_id
                message["photo"] = self.photo_sizes(data)
                if index in captions:
                    message["caption"] = captions[index]
                    if entities := command_entities(captions[index]):
                        message["caption_entities"] = entities
                self.store(message)
                messages.append(message)
            for index in order or range(len(images)):
                self.updates.push({"message": messages[index]})
            return messages

    def deliver_late(self, message: dict) -> None:
        """The update of a message sent earlier but left out of its delivery (an album part
        held back by `user_sends_album(order=...)`) arrives now."""
        with self.lock:
            self.updates.push({"message": message})

    def user_sends_document(
        self,
        chat: Chat,
        user: User,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        reply_to: int | dict | None = None,
        *,
        file_size: int | None = None,
    ) -> dict:
        document = {**self.add_file(data, "documents", file_size=file_size),
                    "file_name": file_name, "mime_type": mime_type}
        return self.user_sends(chat, user, reply_to=reply_to, caption=caption, document=document)

    def clip_fields(self, kind: str, data: bytes, *, duration: int | None = 1,
                    width: int = 64, height: int = 48, file_size: int | None = None) -> dict:
        """The message fields Telegram sends for a moving picture of `kind`: "animation" (a
        GIF, as silent MP4, with its document), "video", "video_note", "gif_document" (a
        GIF file sent as a file) or "video_sticker" (WEBM)."""
        folder = {"video_note": "video_notes", "video_sticker": "stickers"}.get(kind, "videos")
        ref = self.add_file(data, folder, file_size=file_size)
        timing = {} if duration is None else {"duration": duration}
        if kind == "animation":
            animation = {**ref, "width": width, "height": height, **timing,
                         "mime_type": "video/mp4", "file_name": "funny.gif.mp4"}
            return {"animation": animation, "document": {
                **ref, "mime_type": "video/mp4", "file_name": "funny.gif.mp4"}}
        if kind == "video":
            return {"video": {**ref, "width": width, "height": height, **timing,
                              "mime_type": "video/mp4"}}
        if kind == "video_note":
            return {"video_note": {**ref, "length": width, **timing}}
        if kind == "gif_document":
            return {"document": {**ref, "mime_type": "image/gif", "file_name": "loop.gif"}}
        if kind == "video_sticker":
            return {"sticker": {**ref, "type": "regular", "width": 512, "height": 512,
                                "is_animated": False, "is_video": True}}
        raise ValueError(f"unknown clip kind {kind!r}")

    def user_sends_clip(self, chat: Chat, user: User, kind: str, data: bytes, *,
                        caption: str | None = None, reply_to: int | dict | None = None,
                        **fields: Any) -> dict:
        """A moving picture (see `clip_fields`)."""
        return self.user_sends(chat, user, caption=caption, reply_to=reply_to,
                               **self.clip_fields(kind, data, **fields))

    def set_profile_photo(self, user: User, image_bytes: bytes | None) -> list[dict]:
        """What getUserProfilePhotos answers for `user` (None: no photo, or hidden); returns
        the photo's sizes (thumbnail first), empty for None."""
        with self.lock:
            if image_bytes is None:
                self.profile_photos.pop(user.id, None)
                return []
            self.profile_photos[user.id] = self.photo_sizes(image_bytes)
            return self.profile_photos[user.id]

    def user_taps(self, callback_data: str, message: dict | int, user: User | None = None,
                  chat: Chat | None = None) -> str:
        """The user presses an inline button of `message` (the bot's message or its id).
        Returns the callback query id (`answerCallbackQuery` is called with it)."""
        with self.lock:
            if isinstance(message, int):
                if chat is None:
                    raise ValueError("pass chat= with a message id")
                message = self.messages[(chat.id, message)]
            else:
                message = self.messages.get(
                    (message["chat"]["id"], message["message_id"]), message
                )
            if user is None:
                if message["chat"]["type"] != "private":
                    raise ValueError("pass user= for a group chat")
                user = User(id=message["chat"]["id"], first_name=message["chat"].get(
                    "first_name", "Alice"))
            query_id = self.new_callback_query_id()
            self.updates.push({"callback_query": {
                "id": query_id,
                "from": user.as_dict(),
                "message": message,
                "chat_instance": str(message["chat"]["id"]),
                "data": callback_data,
            }})
            return query_id

    def user_inline_query(self, user: User, query: str = "", chat_type: str = "sender") -> str:
        """The user types the bot's name (and `query`) in a chat; returns the query's id, which
        the bot answers with answerInlineQuery (`inline_answers`)."""
        with self.lock:
            query_id = self.new_inline_query_id()
            self.inline_answers[query_id] = None
            self.updates.push({"inline_query": {"id": query_id, "from": user.as_dict(),
                                                "query": query, "offset": "",
                                                "chat_type": chat_type}})
            return query_id

    def user_sends_via_bot(self, chat: Chat, user: User, photo_file_id: str) -> dict:
        """The user taps a cached photo of the bot's inline answer: their message in `chat`,
        the photo, marked as sent via the bot (the bot gets it as an update too)."""
        data = self.file_bytes(photo_file_id)
        width, height = image_size(data)
        stored = self.stored_files[photo_file_id]
        photo = [{"file_id": photo_file_id, "file_unique_id": stored["unique_id"],
                  "file_size": stored["size"], "width": width, "height": height}]
        return self.user_sends(chat, user, photo=photo, via_bot=self.bot_user)

    def _reply_target(self, chat_id: int, reply_to: int | dict) -> dict:
        message_id = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
        stored = self.messages.get((chat_id, message_id))
        if stored is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return {k: v for k, v in stored.items() if k != "reply_to_message"}


def command_entities(text: str) -> list[dict]:
    """The bot_command entity Telegram marks at the start of "/command ..."."""
    if not text.startswith("/"):
        return []
    length = len(text.split(maxsplit=1)[0])
    return [{"type": "bot_command", "offset": 0, "length": length}]
