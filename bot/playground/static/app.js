// The playground's chat page: renders the chat the local server holds (long-polling
// /api/chats/<key>), and sends what the user types, picks, drops, pastes or taps.
// Plain browser JavaScript, no build step. The server keeps the history: a reload, or a
// second tab, shows the same chat.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

const page = {
  key: new URLSearchParams(location.search).get("chat") || "private",
  instance: "",
  version: 0,
  state: null,
  units: new Map(), // unit key -> {json, node}
  pending: [], // files waiting to be sent
  replyTo: null,
  poller: null, // AbortController of the current long poll
  failures: 0,
};

// ---------------------------------------------------------------- talking to the server

async function poll() {
  const key = page.key;
  const session = { controller: null }; // replaced when another chat is opened
  page.poller = session;
  while (page.poller === session) {
    const url = `/api/chats/${key}?since=${page.version}&instance=${page.instance}`;
    const controller = new AbortController();
    session.controller = controller;
    const timer = setTimeout(() => controller.abort(), 40000); // a poll lasts 25 s at most
    try {
      const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
      if (page.poller !== session) return;
      connected();
      apply(body);
    } catch (error) {
      if (page.poller !== session) return; // another chat was opened
      page.failures += 1;
      const why = error.name === "AbortError" ? "no answer in 40 s" : error.message || error;
      banner(`Cannot reach the playground server (${why}). Is \`stylebot demo\` still ` +
        "running? Trying again…", true);
      await sleep(Math.min(500 * page.failures, 3000));
    } finally {
      clearTimeout(timer);
    }
  }
}

function connected() {
  if (page.failures) banner(null);
  page.failures = 0;
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(path, body instanceof FormData
      ? { method: "POST", body }
      : { method: "POST", body: JSON.stringify(body),
          headers: { "Content-Type": "application/json" } });
  } catch (error) {
    throw new Error("the playground server cannot be reached; is `stylebot demo` running?");
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- applying the state

function apply(state) {
  if (page.instance && state.instance !== page.instance) {
    clearMessages();
    banner("The playground was restarted: this is a new chat (the old one was not kept).");
    setTimeout(() => banner(null), 8000);
  }
  page.instance = state.instance;
  page.version = state.version;
  page.state = state;
  renderChrome(state);
  renderMessages(state);
  for (const event of state.events) toast(event.text, event.kind);
}

function renderChrome(state) {
  const list = $("chat-list");
  list.replaceChildren(...state.chats.map((chat) => {
    const item = el("button", "chat-item" + (chat.key === page.key ? " active" : ""));
    item.type = "button";
    item.dataset.chat = chat.key;
    const avatar = el("div", "avatar" + (chat.type === "private" ? "" : " group"),
      chat.title.slice(0, 1));
    const text = el("div");
    text.append(el("div", "", chat.title),
      el("div", "sub", chat.type === "private" ? "private chat with the bot" : "group: you, " +
        "Bob, Carol, Dave and the bot"));
    item.append(avatar, text);
    item.addEventListener("click", () => openChat(chat.key));
    return item;
  }));
  const isGroup = state.chat.type !== "private";
  $("chat-title").textContent = state.chat.title;
  $("chat-avatar").textContent = state.chat.title.slice(0, 1);
  $("chat-avatar").className = "avatar" + (isGroup ? " group" : "");
  const status = $("chat-status");
  if (!state.bot.online) {
    status.textContent = "the bot is starting…";
  } else if (state.bot.action) {
    status.textContent = `${isGroup ? state.bot.name + " is " : ""}${state.bot.action}…`;
  } else {
    status.textContent = isGroup ? `${state.members.length + 1} members` : "bot";
  }
  status.classList.toggle("busy", Boolean(state.bot.action) || !state.bot.online);
  document.title = `${state.chat.title} · stylebot playground`;

  const language = $("language");
  if (!language.options.length) {
    for (const [code, name] of Object.entries(state.languages)) {
      const option = el("option", "", code ? `${name} (${code})` : name);
      option.value = code;
      language.append(option);
    }
  }
  language.value = state.language;

  const sender = $("sender");
  sender.hidden = !isGroup;
  const wanted = state.members.map((m) => m.key).join();
  if (sender.dataset.members !== wanted) {
    const previous = sender.value;
    sender.replaceChildren(...state.members.map((member) => {
      const option = el("option", "", member.key === "you" ? `as ${member.name} (you)`
        : `as ${member.name}`);
      option.value = member.key;
      return option;
    }));
    sender.dataset.members = wanted;
    if (state.members.some((m) => m.key === previous)) sender.value = previous;
  }

  const menu = $("command-menu");
  menu.replaceChildren(...state.commands.map((command) => {
    const item = el("button");
    item.type = "button";
    item.append(el("span", "cmd", "/" + command.command), el("span", "desc", command.description));
    item.addEventListener("click", () => { menu.hidden = true; sendText("/" + command.command); });
    return item;
  }));
  $("empty").hidden = state.messages.length > 0 || !state.bot.online;
}

function clearMessages() {
  page.units.clear();
  $("messages").replaceChildren();
}

// A unit is one message, or an album (messages sharing a media_group_id, side by side).
function units(messages) {
  const result = [];
  for (const message of messages) {
    const last = result[result.length - 1];
    if (message.media_group_id && last && last.group === message.media_group_id) {
      last.messages.push(message);
    } else {
      result.push({
        key: message.media_group_id ? `g${message.media_group_id}` : `m${message.message_id}`,
        group: message.media_group_id || null,
        messages: [message],
      });
    }
  }
  return result;
}

function renderMessages(state) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 150;
  const wanted = units(state.messages);
  const keep = new Set(wanted.map((unit) => unit.key));
  for (const [key, unit] of page.units) {
    if (!keep.has(key)) { unit.node.remove(); page.units.delete(key); }
  }
  let previous = null;
  let grew = false;
  for (const unit of wanted) {
    const json = JSON.stringify(unit.messages);
    let known = page.units.get(unit.key);
    if (!known || known.json !== json) {
      const node = renderUnit(unit, state);
      if (known) known.node.replaceWith(node); else grew = true;
      known = { json, node };
      page.units.set(unit.key, known);
    }
    const expected = previous ? previous.nextSibling : box.firstChild;
    if (expected !== known.node) box.insertBefore(known.node, expected);
    previous = known.node;
  }
  if (atBottom || grew) scrollDown();
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function isOutgoing(message) {
  const me = page.state.members.find((m) => m.key === "you");
  return message.from && me && message.from.id === me.id;
}

function senderColour(user) {
  const member = page.state.members.find((m) => m.id === user.id);
  return member ? member.colour : "#8774e1";
}

function renderUnit(unit, state) {
  const first = unit.messages[0];
  const last = unit.messages[unit.messages.length - 1];
  const row = el("div", "msg-row " + (isOutgoing(first) ? "out" : "in"));
  row.dataset.messageId = first.message_id;
  row.dataset.ids = unit.messages.map((m) => m.message_id).join(" ");
  row.dataset.from = first.from && first.from.is_bot ? "bot" : "user";
  const column = el("div", "msg-col");
  const bubble = el("div", "bubble");
  if (state.chat.type !== "private" && !isOutgoing(first) && first.from) {
    const name = el("div", "sender-name", first.from.first_name);
    name.style.color = senderColour(first.from);
    bubble.append(name);
  }
  if (first.via_bot) bubble.append(el("div", "via", `via @${first.via_bot.username}`));
  if (first.reply_to_message) bubble.append(renderQuote(first.reply_to_message));
  const media = renderMedia(unit.messages);
  if (media) bubble.append(media);
  // An album shows each part's caption (the bot captions every picture of a battle).
  const text = unit.messages.map((m) => m.text || m.caption || "").filter(Boolean).join("\n");
  if (text) bubble.append(el("div", "text", text));
  else if (media) bubble.classList.add("media-only");
  if (!media && !text) bubble.append(el("div", "text", describe(first)));
  const meta = el("span", "meta", (last.edit_date ? "edited " : "") + clock(last.date));
  bubble.append(meta);
  column.append(bubble);
  for (const message of unit.messages) {
    const keyboard = renderKeyboard(message);
    if (keyboard) column.append(keyboard);
  }
  const reply = el("button", "reply-btn", "⤺");
  reply.type = "button";
  reply.title = "Reply";
  reply.addEventListener("click", () => startReply(first));
  if (isOutgoing(first)) row.append(reply, column); else row.append(column, reply);
  return row;
}

function renderQuote(message) {
  const quote = el("div", "quote");
  quote.append(el("b", "", message.from ? message.from.first_name : ""),
    el("span", "", (message.text || message.caption || describe(message)).slice(0, 80)));
  quote.addEventListener("click", () => {
    const target = document.querySelector(`[data-ids~="${message.message_id}"]`);
    if (!target) return;
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1200);
  });
  return quote;
}

function describe(message) {
  for (const [field, name] of [["photo", "Photo"], ["document", "File"], ["sticker", "Sticker"],
    ["animation", "GIF"], ["video", "Video"], ["voice", "Voice message"], ["audio", "Audio"]]) {
    if (message[field]) return name;
  }
  return "(a message this page cannot show)";
}

const fileUrl = (fileId) => `/files/${encodeURIComponent(fileId)}`;

function onLoadScroll(node) {
  const box = $("messages");
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 500;
  const stick = atBottom();
  node.addEventListener(node.tagName === "VIDEO" ? "loadeddata" : "load", () => {
    if (stick) scrollDown();
  });
  return node;
}

function picture(fileId, alt) {
  const link = el("a");
  link.href = fileUrl(fileId);
  link.target = "_blank";
  const img = onLoadScroll(el("img", "photo"));
  img.src = fileUrl(fileId);
  img.alt = alt;
  link.append(img);
  return link;
}

function movie(fileId) {
  const video = onLoadScroll(el("video", "video"));
  Object.assign(video, { src: fileUrl(fileId), autoplay: true, loop: true, muted: true,
    controls: true, playsInline: true });
  return video;
}

function renderMedia(messages) {
  const parts = [];
  let box = null;
  for (const message of messages) {
    if (message.photo) {
      const biggest = message.photo[message.photo.length - 1];
      parts.push(picture(biggest.file_id, message.caption || "photo"));
    } else if (message.animation || message.video || message.video_note) {
      parts.push(movie((message.animation || message.video || message.video_note).file_id));
    } else if (message.sticker) {
      box = el("div", "sticker");
      const sticker = message.sticker;
      if (sticker.is_video) box.append(movie(sticker.file_id));
      else if (sticker.is_animated) box.append(el("div", "text", `${sticker.emoji || ""} sticker`));
      else {
        const img = el("img");
        img.src = fileUrl(sticker.file_id);
        img.alt = sticker.emoji || "sticker";
        img.addEventListener("error", () => img.replaceWith(el("div", "text",
          `${sticker.emoji || ""} (sticker)`)));
        box.append(img);
      }
    } else if (message.document) {
      box = renderFile(message.document);
    }
  }
  if (parts.length) {
    const media = el("div", `media n${Math.min(parts.length, 4)}` +
      (parts.length === 1 ? " single" : ""));
    media.append(...parts);
    return media;
  }
  return box;
}

function renderFile(document_) {
  const wrap = el("div");
  const file = el("div", "file");
  const link = el("a", "", document_.file_name || "file");
  link.href = fileUrl(document_.file_id);
  link.download = document_.file_name || "file";
  const info = el("div");
  info.append(link, el("div", "size", size(document_.file_size)));
  file.append(el("div", "icon", "FILE"), info);
  wrap.append(file);
  // A file that is a picture (a full-size result) shows a preview, as Telegram's apps do.
  const preview = el("div", "file-preview");
  const img = onLoadScroll(el("img"));
  img.alt = "";
  img.addEventListener("error", () => preview.remove());
  if ((document_.file_size || 0) < 20 * 1024 * 1024) {
    img.src = fileUrl(document_.file_id);
    preview.append(img);
    wrap.append(preview);
  }
  return wrap;
}

function renderKeyboard(message) {
  const markup = message.reply_markup;
  if (!markup || !markup.inline_keyboard) return null;
  const keyboard = el("div", "keyboard");
  for (const row of markup.inline_keyboard) {
    const line = el("div", "krow");
    for (const button of row) {
      const special = specialButton(button);
      if (special) {
        line.append(special);
        continue;
      }
      if (button.url) {
        const link = el("a", "", button.text);
        link.href = button.url;
        link.target = "_blank";
        line.append(link);
        continue;
      }
      const node = el("button", "", button.text);
      node.type = "button";
      node.dataset.callback = button.callback_data || "";
      node.addEventListener("click", () => tap(message, button, node));
      line.append(node);
    }
    keyboard.append(line);
  }
  return keyboard;
}

// Buttons Telegram's app handles itself: a Mini App (web_app), the bot's own t.me link (opens
// the private chat and sends /start with its parameter), and "Share" (switch_inline_query:
// the inline panel with the bot's answer).
function specialButton(button) {
  let action = null;
  if (button.web_app) {
    action = () => openStudio(button.web_app.url);
  } else if (button.url && botLink(button.url) !== null) {
    action = () => startFromLink(botLink(button.url));
  } else if (button.switch_inline_query !== undefined) {
    action = () => openInline(button.switch_inline_query);
  }
  if (!action) return null;
  const node = el("button", button.web_app ? "web-app" : "", button.text);
  node.type = "button";
  if (button.web_app) node.dataset.webApp = button.web_app.url;
  if (button.switch_inline_query !== undefined) node.dataset.inline = button.switch_inline_query;
  node.addEventListener("click", action);
  return node;
}

function botLink(url) {
  const username = page.state && page.state.bot.username;
  const match = /^https:\/\/t\.me\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$/.exec(url);
  return match && username && match[1].toLowerCase() === username.toLowerCase() ? match[2] : null;
}

async function startFromLink(parameter) {
  if (page.key !== "private") openChat("private");
  await sleep(300);
  sendText(`/start ${parameter}`);
}

function size(bytes) {
  if (!bytes) return "";
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function clock(unix) {
  const date = new Date(unix * 1000);
  return `${date.getHours()}:${String(date.getMinutes()).padStart(2, "0")}`;
}

// ---------------------------------------------------------------- what the user does

function sender() {
  return page.state && page.state.chat.type !== "private" ? $("sender").value || "you" : "you";
}

async function tap(message, button, node) {
  node.disabled = true;
  try {
    await post(`/api/chats/${page.key}/tap`, { sender: sender(),
      message_id: message.message_id, data: button.callback_data || "" });
  } catch (error) {
    toast(error.message, "error");
  } finally {
    setTimeout(() => { node.disabled = false; }, 600);
  }
}

async function send() {
  const text = $("text").value;
  if (!text.trim() && !page.pending.length) return;
  const form = new FormData();
  form.append("sender", sender());
  form.append("text", text);
  if (page.replyTo) form.append("reply_to", page.replyTo.message_id);
  for (const file of page.pending) form.append("file", file, file.name || "pasted.png");
  const button = $("send");
  button.disabled = true;
  button.textContent = "Sending…";
  try {
    await post(`/api/chats/${page.key}/send`, form);
    $("text").value = "";
    $("command-menu").hidden = true;
    setPending([]);
    startReply(null);
    scrollDown();
  } catch (error) {
    toast(`Not sent: ${error.message}`, "error"); // the text and files stay, to try again
  } finally {
    button.disabled = false;
    button.textContent = "Send";
    autosize();
  }
}

async function sendText(text) {
  const keepText = $("text").value;
  const keepFiles = page.pending;
  $("text").value = text;
  page.pending = [];
  await send();
  $("text").value = keepText;
  setPending(keepFiles);
}

function setPending(files) {
  page.pending = files;
  const box = $("pending");
  box.hidden = !files.length;
  box.replaceChildren();
  files.forEach((file, index) => {
    const item = el("div", "item");
    if (file.type.startsWith("image/")) {
      const img = el("img");
      img.src = URL.createObjectURL(file);
      item.append(img);
    }
    item.append(el("span", "", `${file.name || "pasted image"} · ${size(file.size)}`));
    const remove = el("button", "", "✕");
    remove.type = "button";
    remove.title = "Do not send this one";
    remove.addEventListener("click", () => setPending(files.filter((_, i) => i !== index)));
    item.append(remove);
    box.append(item);
  });
  if (files.length) {
    box.append(el("span", "", files.length > 1
      ? "Sent together (an album): the first is the photo, the second its style. Press Send."
      : "Add a caption (e.g. a style name) and press Send."));
  }
}

function addFiles(list) {
  const files = Array.from(list || []);
  if (files.length) setPending(page.pending.concat(files));
  $("text").focus();
}

function startReply(message) {
  page.replyTo = message;
  $("reply-bar").hidden = !message;
  if (message) {
    $("reply-text").textContent = `${message.from ? message.from.first_name : ""}: ` +
      (message.text || message.caption || describe(message)).slice(0, 60);
    $("text").focus();
  }
}

function openChat(key) {
  if (key === page.key) return;
  page.key = key;
  page.version = 0;
  page.instance = "";
  history.replaceState(null, "", `?chat=${key}`);
  clearMessages();
  startReply(null);
  const previous = page.poller;
  page.poller = null;
  if (previous && previous.controller) previous.controller.abort();
  poll();
}

function banner(text, bad = false) {
  const node = $("banner");
  node.hidden = !text;
  node.textContent = text || "";
  node.classList.toggle("bad", bad);
}

function toast(text, kind = "toast") {
  const node = el("div", `toast ${kind}`, text);
  if (kind === "alert") {
    const ok = el("button", "", "OK");
    ok.addEventListener("click", () => node.remove());
    node.append(ok);
  } else {
    setTimeout(() => node.remove(), kind === "error" ? 9000 : 4000);
  }
  $("toasts").append(node);
}

function autosize() {
  const text = $("text");
  text.style.height = "auto";
  text.style.height = `${Math.min(text.scrollHeight, 140)}px`;
}

function wire() {
  $("send").addEventListener("click", send);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("text").addEventListener("input", () => {
    autosize();
    const value = $("text").value;
    $("command-menu").hidden = !(value.startsWith("/") && !value.includes(" ") &&
      filterMenu(value.slice(1)));
  });
  $("attach").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (event) => {
    addFiles(event.target.files);
    event.target.value = "";
  });
  $("menu-button").addEventListener("click", () => {
    filterMenu("");
    $("command-menu").hidden = !$("command-menu").hidden;
  });
  $("reply-cancel").addEventListener("click", () => startReply(null));
  $("studio-close").addEventListener("click", () => closeStudio()); // panels.js
  $("start-button").addEventListener("click", () => sendText("/start"));
  $("language").addEventListener("change", async (event) => {
    try {
      await post("/api/language", { language: event.target.value });
      toast("The bot sees your new app language from your next message.");
    } catch (error) {
      toast(error.message, "error");
    }
  });
  document.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData ? event.clipboardData.files : []);
    if (files.length) {
      event.preventDefault();
      addFiles(files);
    }
  });
  const chat = $("chat");
  let depth = 0;
  chat.addEventListener("dragenter", (event) => {
    if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
    depth += 1;
    $("drop-overlay").hidden = false;
  });
  chat.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) $("drop-overlay").hidden = true;
  });
  chat.addEventListener("dragover", (event) => event.preventDefault());
  chat.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    $("drop-overlay").hidden = true;
    addFiles(event.dataTransfer.files);
  });
}

function filterMenu(prefix) {
  let shown = 0;
  for (const item of $("command-menu").children) {
    const match = item.textContent.startsWith("/" + prefix);
    item.hidden = !match;
    if (match) shown += 1;
  }
  return shown;
}

wire();
poll();
