// hookscope inspector: the page's entry point, loaded as a module by templates/index.html. It wires the
// other modules to the page (buttons, keys, the hash), applies the theme and starts the list and the stream.
// Captured data is untrusted: it only ever reaches the DOM through createElement, textContent and
// setAttribute. See docs/page.md.
//
// Modules (each imports only those listed before it): dom.js, state.js, filters.js, api.js, refused.js, endpoints.js,
// signature.js, forward.js, list.js, stats.js, booth.js, body.js, detail.js, stream.js. Their imports are relative,
// so they share this file's versioned
// URL prefix (/_/static/<version>/js/): an upgraded binary's page never mixes with cached older modules.

import { $, copyText } from "./dom.js";
import { setBooth } from "./booth.js";
import { closeDetail, openRecord, routeFromHash } from "./detail.js";
import { hasFilters, loadProfiles, readFiltersFromUrl, setUrlParam, wireFilters } from "./filters.js";
import { api } from "./api.js";
import { loadMore, moveCursor, refreshTimes, reloadList, sendSamples } from "./list.js";
import { wireEndpoints } from "./endpoints.js";
import { wireReplay } from "./forward.js";
import { wireRefused } from "./refused.js";
import { refreshStats } from "./stats.js";
import { connect, learnHead, restartStream, setConn, setPaused } from "./stream.js";
import { CURL, state } from "./state.js";

// ---------------------------------------------------------------- theme

const THEMES = ["auto", "light", "dark"];
function setTheme(theme, remember) {
  state.theme = THEMES.includes(theme) ? theme : "auto";
  if (state.theme === "auto") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", state.theme);
  $("theme-toggle").textContent = `Theme: ${state.theme}`;
  if (remember) setUrlParam("theme", state.theme === "auto" ? null : state.theme);
}

// ---------------------------------------------------------------- wiring

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  switch (event.key) {
    case "j":
    case "ArrowDown":
      moveCursor(1);
      break;
    case "k":
    case "ArrowUp":
      moveCursor(-1);
      break;
    case "Enter":
      if (state.cursor === null || event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement) return;
      openRecord(state.cursor);
      break;
    case "Escape":
      if (state.openId !== null) closeDetail();
      break;
    case "/":
      $("f-q").focus();
      break;
    case "p":
      setPaused(!state.paused);
      break;
    case "b":
      toggleBooth();
      break;
    default:
      return;
  }
  event.preventDefault();
}

function wire() {
  document.addEventListener("keydown", onKey);
  wireRefused();
  wireReplay();
  wireEndpoints((name) => {
    $("f-endpoint").value = name;
    $("filters").dispatchEvent(new Event("change"));
  });
  window.addEventListener("hashchange", routeFromHash);
  $("pause").addEventListener("click", () => setPaused(!state.paused));
  $("booth-toggle").addEventListener("click", toggleBooth);
  $("theme-toggle").addEventListener("click", () => setTheme(THEMES[(THEMES.indexOf(state.theme) + 1) % THEMES.length], true));
  $("notice-action").addEventListener("click", (event) => {
    if (event.currentTarget.dataset.action === "resume") setPaused(false);
    else reloadList();
  });
  $("more").addEventListener("click", loadMore);
  $("send-samples").addEventListener("click", sendSamples);
  $("copy-first-curl").addEventListener("click", () => copyText(CURL, "curl command"));
  wireFilters(() => {
    restartStream();
    reloadList();
  });
  // One listener opens the clicked row's record; the duplicate badge's link stops its click before it gets here.
  $("list").addEventListener("click", (event) => {
    const row = event.target.closest("li.row");
    if (row) openRecord(Number(row.dataset.id));
  });
  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadMore();
    });
    observer.observe($("more"));
  }
  setInterval(refreshTimes, 15000);
  // A filtered stream brings only matching requests, so the counts of all requests are re-read now and then.
  setInterval(() => {
    if (state.streamFiltered) refreshStats();
  }, 3000);
}

/** The booth shows every request, so the stream drops the list's filters while it is on. */
function toggleBooth() {
  setBooth(!state.booth, true);
  if (hasFilters()) restartStream();
}

async function start() {
  const params = new URLSearchParams(location.search);
  setTheme(params.get("theme") || "auto", false);
  readFiltersFromUrl();
  loadProfiles(api);
  $("f-reset").hidden = !hasFilters();
  setBooth(params.get("booth") === "1", false);
  wire();
  setConn("connecting", "connecting");
  // The stream starts right after the newest stored id, so nothing captured while the list loads is lost;
  // arrivals already in the list are recognised by id.
  await learnHead();
  connect();
  await Promise.all([reloadList(), refreshStats()]);
  routeFromHash();
  document.body.classList.add("ready");
}

start();
