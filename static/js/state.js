// The page's shared mutable state, in one object every module reads and writes, and the constants the
// server hands over through <body data-…>. Imports nothing. (A few caches private to one module, such as
// the toast timer or the booth's recent rows, stay in that module.)

export const ORIGIN = document.body.dataset.origin || location.origin;
export const CURL = document.body.dataset.curl || "";
export const PAGE_SIZE = 50;

export const state = {
  rows: new Map(), // id -> summary, for everything shown in the list
  nextBefore: null,
  loadingMore: false,
  lastId: 0, // the highest request id known to exist, for resuming the stream
  cursor: null, // id under the keyboard cursor
  openId: null, // id shown in the detail pane
  paused: false,
  buffered: [],
  stats: null,
  statsHead: 0, // the newest id known to be included in stats
  filters: {},
  skipped: 0, // requests the server left out of the live stream because they came too fast to show
  es: null,
  streamFiltered: false, // the live stream carries only the requests that match the filters, so counts are re-read
  retryMs: 1000,
  retryTimer: null,
  generation: 0, // bumped on every list reload, so stale responses are dropped
  booth: false,
  theme: "auto",
};
