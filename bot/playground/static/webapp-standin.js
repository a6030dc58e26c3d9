// The playground's stand-in for Telegram's telegram-web-app.js: inside the studio's frame it
// reads what the playground put in the address's fragment, as Telegram's apps do
// (#tgWebAppData=<signed initData>&tgWebAppThemeParams=...&tgWebAppVersion=...), gives the page
// the same `window.Telegram.WebApp` (initData, initDataUnsafe, themeParams, ready, expand,
// close) and talks to the chat page around it the way Telegram Web does: postMessage events
// ("web_app_ready", "web_app_close"). The signature is real: the playground's server signs
// initData with the bot's token, and the studio checks it as it checks Telegram's.
"use strict";
(function () {
  const launch = new URLSearchParams(location.hash.slice(1));
  const initData = launch.get("tgWebAppData") || "";
  const fields = new URLSearchParams(initData);
  let theme = {};
  try { theme = JSON.parse(launch.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
  let user = null;
  try { user = JSON.parse(fields.get("user") || "null"); } catch (e) { user = null; }

  function post(eventType, eventData) {
    if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData: eventData || {} }), "*");
    }
  }
  for (const [key, value] of Object.entries(theme)) {
    document.documentElement.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
  }
  const noop = () => {};
  window.Telegram = {
    WebApp: {
      initData,
      initDataUnsafe: { user, auth_date: Number(fields.get("auth_date") || 0),
                        query_id: fields.get("query_id") || undefined,
                        start_param: fields.get("start_param") || undefined },
      version: launch.get("tgWebAppVersion") || "8.0",
      platform: launch.get("tgWebAppPlatform") || "web",
      colorScheme: "light",
      themeParams: theme,
      isExpanded: true,
      ready() { post("web_app_ready"); },
      expand() { post("web_app_expand"); },
      close() { post("web_app_close"); },
      onEvent: noop,
      offEvent: noop,
      HapticFeedback: { impactOccurred: noop, selectionChanged: noop, notificationOccurred: noop },
    },
  };
})();
