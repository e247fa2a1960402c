/* Search over the entries' questions and alternatives, in the browser, tolerant of typos.
   The index (search-index.json) gives, for each entry, its question, where it is, and the words
   of every way people ask it (normalised by search_words in careerbot/site/build.py, as `words`
   does here; the stop words are the same). A query word matches a word of a phrasing exactly,
   as its beginning, or within 1 edit (2 for long words); the best phrasing of each entry gives
   its score, and the number of its phrasings that match breaks ties. */
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form) { return; }
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var STOP = new Set(("le la les l de des du d un une et ou a au aux en pour par sur est c ce ces " +
    "qu que qui quoi quel quelle quels comment je j me m mon ma mes on il elle y ne pas se s t tu " +
    "the an of to is are what how do does i can for in on my it").split(" "));
  var entries = null;
  var loading = null;
  var timer = null;

  function normalise(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, " ").trim();
  }

  function words(text) {
    return normalise(text).split(" ").filter(function (w) { return w && !STOP.has(w); });
  }

  // Edit distance with transpositions (optimal string alignment), given up beyond `max`.
  function distance(a, b, max) {
    if (Math.abs(a.length - b.length) > max) { return max + 1; }
    var before = null, previous = [], current, i, j;
    for (j = 0; j <= b.length; j++) { previous.push(j); }
    for (i = 1; i <= a.length; i++) {
      current = [i];
      var best = i;
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        var value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          value = Math.min(value, before[j - 2] + 1);
        }
        current.push(value);
        best = Math.min(best, value);
      }
      if (best > max) { return max + 1; }
      before = previous;
      previous = current;
    }
    return previous[b.length];
  }

  function similarity(query, word) {
    if (query === word) { return 1; }
    if (query.length >= 3 && word.indexOf(query) === 0) { return 0.9; }
    var max = query.length >= 8 ? 2 : query.length >= 4 ? 1 : 0;
    if (max === 0) { return 0; }
    var d = Math.min(distance(query, word, max),
                     word.length > query.length ? distance(query, word.slice(0, query.length), max) + 0.5 : max + 1);
    return d <= max ? 1 - d / (query.length + 1) : 0;
  }

  function prepare(index) {
    return index.map(function (entry) {
      var phrasings = entry.w.map(function (w) { return w.split(" "); });
      return { entry: entry, phrasings: phrasings };
    });
  }

  function search(text) {
    var query = words(text);
    if (!query.length) { return []; }
    var cache = new Map();
    function best(q, phrasing) {
      var top = 0;
      for (var k = 0; k < phrasing.length; k++) {
        var key = q + " " + phrasing[k];
        var s = cache.get(key);
        if (s === undefined) { s = similarity(q, phrasing[k]); cache.set(key, s); }
        if (s > top) { top = s; }
      }
      return top;
    }
    var weight = query.reduce(function (sum, q) { return sum + q.length; }, 0);
    var found = [];
    entries.forEach(function (item) {
      var top = 0, close = 0;
      item.phrasings.forEach(function (phrasing, n) {
        var total = query.reduce(function (sum, q) { return sum + q.length * best(q, phrasing); }, 0);
        var value = total / weight * (n === 0 ? 1 : 0.97);
        if (value > top) { top = value; }
        if (value >= 0.75) { close += 1; }
      });
      // Ties between entries go to the one that many phrasings match: it is about those words.
      if (top >= 0.6) { found.push({ entry: item.entry, score: top + 0.1 * Math.min(close, 10) / 10 }); }
    });
    found.sort(function (a, b) { return b.score - a.score; });
    return found.slice(0, 8);
  }

  function show(text) {
    list.textContent = "";
    if (!text.trim()) { status.textContent = ""; return; }
    var found = search(text);
    status.textContent = found.length ? form.dataset.count.replace("{n}", found.length)
                                      : form.dataset.none.replace("{q}", text.trim());
    found.forEach(function (hit) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = hit.entry.href;
      a.textContent = hit.entry.q;
      var where = document.createElement("span");
      where.className = "where";
      where.textContent = hit.entry.theme;
      a.appendChild(where);
      li.appendChild(a);
      list.appendChild(li);
    });
  }

  function load() {
    if (!loading) {
      loading = fetch(form.dataset.index)
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (index) { entries = prepare(index); })
        .catch(function () { status.textContent = form.dataset.error; });
    }
    return loading;
  }

  function run() {
    var text = input.value;
    load().then(function () { if (entries) { show(text); } });
  }

  input.addEventListener("focus", load);
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { input.value = initial; run(); }
}());
