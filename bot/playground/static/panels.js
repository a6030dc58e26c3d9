// What Telegram's app opens over the chat for some of the bot's buttons: the studio (a Mini
// App, in a panel beside the chat, signed in by the playground's server as Telegram signs it)
// and the inline panel ("Share": the bot's inline answer, its paintings, to send into a chat).
// Loaded after app.js, whose helpers ($, el, post, page, sender, toast, openChat) it uses.
"use strict";

// ---------------------------------------------------------------- the studio's panel

async function openStudio(url) {
  try {
    const answer = await post("/api/studio", { chat: page.key, sender: sender(), url });
    $("studio-frame").src = answer.url;
    $("studio-panel").hidden = false;
    document.body.classList.add("with-studio");
  } catch (error) {
    toast(error.message, "error");
  }
}

function closeStudio() {
  $("studio-panel").hidden = true;
  $("studio-frame").src = "about:blank";
  document.body.classList.remove("with-studio");
}

// The studio talks to "Telegram" as a Mini App in Telegram Web does: posted events.
window.addEventListener("message", (event) => {
  if (event.source !== $("studio-frame").contentWindow) return;
  let message = event.data;
  try { if (typeof message === "string") message = JSON.parse(message); } catch (e) { return; }
  if (message && message.eventType === "web_app_close") closeStudio();
});

// ---------------------------------------------------------------- the inline panel

const inline = { timer: null, asked: 0 };

function openInline(query) {
  let panel = $("inline-panel");
  if (!panel) {
    panel = el("div");
    panel.id = "inline-panel";
    const head = el("div", "inline-head");
    const field = el("input");
    field.id = "inline-query";
    field.placeholder = "style name, or nothing for all";
    const target = el("select");
    target.id = "inline-chat";
    for (const chat of page.state.chats) {
      const option = el("option", "", `Send to: ${chat.title}`);
      option.value = chat.key;
      target.append(option);
    }
    const close = el("button", "", "✕");
    close.type = "button";
    close.addEventListener("click", () => panel.remove());
    head.append(el("b", "", "@" + page.state.bot.username + " "), field, target, close);
    const results = el("div", "results");
    results.id = "inline-results";
    panel.append(head, results, el("div", "inline-button"));
    $("chat").append(panel);
    field.addEventListener("input", () => {
      clearTimeout(inline.timer);
      inline.timer = setTimeout(() => askInline(field.value), 300);
    });
  }
  $("inline-chat").value = page.state.chats.some((c) => c.type !== "private")
    ? page.state.chats.find((c) => c.type !== "private").key : page.key;
  $("inline-query").value = query || "";
  askInline(query || "");
}

async function askInline(query) {
  const asked = ++inline.asked;
  try {
    const answer = await post("/api/inline", { chat: $("inline-chat").value, sender: "you",
                                               query });
    if (asked !== inline.asked) return; // a newer query is on its way
    const results = $("inline-results");
    results.replaceChildren(...answer.results.map((result) => {
      const button = el("button");
      button.type = "button";
      button.dataset.result = result.id;
      const img = el("img");
      img.src = `/files/${encodeURIComponent(result.file_id)}`;
      img.alt = result.title || "painting";
      button.append(img);
      button.addEventListener("click", () => sendInline(answer.query_id, result.id));
      return button;
    }));
    document.querySelector("#inline-panel .inline-button").textContent = answer.button || "";
  } catch (error) {
    toast(error.message, "error");
  }
}

async function sendInline(queryId, resultId) {
  const chat = $("inline-chat").value;
  try {
    await post("/api/inline/send", { chat, sender: "you", query_id: queryId,
                                     result_id: resultId });
    $("inline-panel").remove();
    if (chat !== page.key) openChat(chat);
  } catch (error) {
    toast(error.message, "error");
  }
}
