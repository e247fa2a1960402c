"""A local Telegram Bot API test double: real HTTP on 127.0.0.1, every request held to the spec.

The bot under test runs unchanged (python-telegram-bot doing real HTTP); only its API root points
here. Each request is checked against ``botapi-spec.json`` and the prose limits of ``rules.py``
(see ``spec.py``), and against what the double knows (chats, messages it sent, callback queries it
issued). A request the real Bot API would refuse is answered as Telegram answers it (400 with a
``Bad Request: ...`` description) **and** appended to :attr:`BotApiDouble.violations`, which tests
assert is empty.

Typical use, with the bot's Application in the test's event loop::

    with BotApiDouble() as double:
        app = ApplicationBuilder().token(double.token).base_url(double.base_url).build()
        ...  # add handlers, ``async with app``, ``await app.start()``,
             # ``await app.updater.start_polling(poll_interval=0, timeout=1)``
        update_id = double.send_text(42, "/start")
        reply = await double.wait_reply_async(42, update_id)
        assert "Bonjour" in reply.params["text"]
        double.assert_no_violations()

Public API
----------
``BotApiDouble(token="123456:TEST", bot_username="careerbot_test_bot", *, max_poll_seconds=1.0)``
    ``start()`` / ``stop()`` or ``with BotApiDouble() as double: ...`` (serves in a thread).
    ``base_url`` -> ``"http://127.0.0.1:PORT/bot"`` for ``Bot(token, base_url=...)`` or
    ``ApplicationBuilder().token(t).base_url(...)``; ``api_root`` -> ``"http://127.0.0.1:PORT"``
    (the bot calls ``{root}/bot{token}/{method}``); ``bot_user`` is the getMe answer.
    ``api_root_for(client)`` -> ``"http://127.0.0.1:PORT/as/CLIENT"``: the same API, but every
    call made through that root carries ``client`` (several bot processes sharing one double:
    which one sent what).

Updates (each enqueues one update for getUpdates and returns its ``update_id``):
    ``send_text(user_id, text, *, chat_id=None, chat_type="private", language_code="fr",
    first_name="Test", reply_to_message_id=None, entities=None)`` (a leading ``/command`` or
    ``/command@botname`` gets its ``bot_command`` entity; in a group or supergroup ``chat_id``
    defaults to ``-user_id``), ``send_sticker(user_id)``, ``send_photo(user_id)``,
    ``send_voice(user_id)``, ``send_document(user_id)`` (same keyword arguments),
    ``edit_text(user_id, message_id, text)`` (an ``edited_message``),
    ``press_button(user_id, message_id, data, chat_id=None)`` (a ``callback_query`` on a bot
    message whose keyboard has that ``callback_data``), ``inline_query(user_id, query)``,
    ``my_chat_member(user_id, status)`` (``"kicked"`` = the user blocked the bot: later sends
    to that chat get 403), ``push_update(update)`` for anything else (the double learns the
    chats, users, messages and query ids it shows).
    Webhook mode: ``take_update(update_id=None)`` takes a queued update (the last one by
    default) off the getUpdates queue and returns its JSON body, as Telegram does when it pushes
    it to a webhook: the test then POSTs it to the bot. ``wait_reply`` counts from that moment.

Observation:
    ``calls`` (snapshot list of :class:`Call`: ``method``, decoded ``params``, ``at``
    (``time.monotonic()`` once checked against the spec; ``received``: before that check),
    ``client`` (see ``api_root_for``), ``body_type`` (the body's media type, e.g.
    ``application/json``), plus ``status`` and ``result`` once answered),
    ``calls_to(method)``,
    ``messages_to(chat_id)`` (:class:`SentMessage`: what the bot sent there, as it reads after
    edits), ``wait_for(predicate, timeout=5.0)`` -> the first answered call matching, else
    AssertionError listing the last calls; ``wait_reply(chat_id, after_update_id=None,
    timeout=5.0)`` -> the first successful message sent or edited in that chat after the bot
    fetched that update (default: the last update pushed for that chat);
    ``violations`` (list of str); ``unanswered_callback_queries``; ``assert_no_violations()``.
    ``wait_for`` and ``wait_reply`` block the calling thread: from a coroutine running the bot,
    ``await double.wait_for_async(...)`` / ``await double.wait_reply_async(...)``.
    State the bot set: ``commands`` ({(scope JSON, language_code): [BotCommand dicts]}),
    ``descriptions``, ``menu_buttons``, ``inline_answers`` (inline query id -> params).

Faults:
    ``fail_next(method, status, count=1, *, retry_after=None, description=None, chat_id=None)``
    (429 adds ``parameters.retry_after``, default 1; 403 "Forbidden: bot was blocked by the
    user"; 5xx "Internal Server Error"); ``delay_next(method, seconds, count=1)``;
    ``rate_limit(per_second)`` (a token bucket over all sends, ``None`` to lift it).
    A fault is consumed by the next matching call that passes validation. A delayed call is
    still carried out after its delay, like a request the client gave up on but Telegram served.
    ``fail_fraction(method, status, fraction, *, seed, per="request", chats=None, ...)``: a
    seeded, reproducible share of the valid calls answers this error; ``per="chat"`` picks chats
    (every call to a picked chat fails: a user who blocked the bot), ``per="request"`` picks the
    n-th call to a chat (a 502 now and then; the retry may pass). :func:`chosen` tells which.
    ``flood_wait(at_call, seconds, *, methods=SEND_METHODS)``: from the at_call-th valid send on,
    every send is answered 429 for ``seconds`` (retry_after: the seconds left, rounded up).
    An error answer is never a delivery: the double changes no chat when it answers one.
    Order: validation, then flood waits, ``rate_limit``, ``fail_next``, ``fail_fraction``.

Flood control, as the bot honoured it:
    every answered call carries ``answered_at``, ``retry_after`` (429 only) and ``fault``
    (``"rate_limit"``, ``"flood_wait"``, ``"fail_next"``, ``"fail_fraction"``, else None);
    ``requests_in_retry_windows()`` -> (the 429, a later call that arrived before its
    retry_after ran out) pairs: requests Telegram had told the bot not to make yet.

Stateful checks (400 as Telegram words it, and a violation): "chat not found" (no update came
from that chat), "message to edit/delete/copy/forward not found", "message can't be edited" (a
user's message), "message is not modified" (same text, entities and keyboard), "message to be
replied not found", "query is too old ..." (a callback or inline query id never issued or
answered twice), getUpdates while a webhook is set (409). Not violations, because they happen to
correct bots: 403 to a chat that blocked the bot, 429 from ``rate_limit``, injected faults, and
the 409 that ends a superseded long poll.

Behaviour worth knowing: getUpdates honours ``offset`` (confirmed updates are dropped),
``limit``, ``allowed_updates`` and ``timeout`` (capped at ``max_poll_seconds``); a newer
getUpdates ends a pending one with 409 as Telegram does; method names are case-insensitive;
bodies may be form-encoded, multipart (files, ``attach://name``) or JSON. Texts with
``parse_mode`` MarkdownV2/Markdown are only measured, not parsed (see ``formatting.py``). An
uploaded sendPhoto must be a PNG or JPEG within Telegram's limits (10 MB, width + height <= 10000,
ratio <= 20); the PNG's size is read into the answer's PhotoSize.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

from tests.botapi.formatting import parse_text, utf16_len
from tests.botapi.spec import Spec, UploadedFile

JsonDict = dict[str, Any]

# Methods whose success puts (or changes) a message in a chat: what wait_reply waits for.
REPLY_METHODS = frozenset({
    "sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage", "editMessageText",
    "editMessageReplyMarkup",
})
# Methods counted by rate_limit().
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage"})
# Update kinds Telegram leaves out unless asked for ("Specify an empty list to receive all update
# types except chat_member, message_reaction, and message_reaction_count (default)").
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
}

_PATH = re.compile(r"(?:/as/(?P<client>[A-Za-z0-9_.-]+))?/bot(?P<token>[^/]*)/(?P<method>[^/]*)")
_CLIENT = re.compile(r"[A-Za-z0-9_.-]+")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}\b")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_DISPOSITION_PARAM = re.compile(r';\s*(?P<key>[A-Za-z*]+)="(?P<value>(?:[^"\\]|\\.)*)"')


# --- Public records -------------------------------------------------------------------------------

@dataclass
class Call:
    """One request the bot made: method, decoded params, arrival time, and how it was answered."""

    method: str
    params: dict[str, Any]
    at: float
    index: int = 0
    status: int | None = None  # HTTP status, None while the request is being answered
    result: Any = None  # the "result" of a successful answer, else the error description
    answered_at: float | None = None  # time.monotonic() when the answer was decided
    retry_after: int | None = None  # the retry_after of a 429 answer
    fault: str | None = None  # which fault the double injected, if the answer is one
    client: str | None = None  # the CLIENT of an api_root_for(CLIENT) root, if the call used one
    # time.monotonic() when the request was in, before the double checked it against the spec
    # (`at` comes after): the time a bot's request took to arrive, for latency measures.
    received: float | None = None
    body_type: str = ""  # the media type of the request's body ("application/json"...), if any

    @property
    def ok(self) -> bool:
        """Whether the double answered 200."""
        return self.status == 200

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        if len(params) > 160:
            params = params[:157] + "..."
        return f"<Call #{self.index} {self.method}({params}) -> {self.status}>"


@dataclass(frozen=True)
class SentMessage:
    """A message the bot put in a chat, as it reads now (after edits)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None  # text, or caption of a document, after entity parsing
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    document: JsonDict | None
    edits: int
    deleted: bool
    payload: JsonDict  # the Message object as the Bot API would return it

    @property
    def buttons(self) -> list[JsonDict]:
        """Every inline button, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of the inline buttons, in order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


class ApiError(Exception):
    """An error answer: status, description and, for 429, retry_after."""

    def __init__(self, status: int, description: str, *, violation: str | None = None,
                 retry_after: int | None = None, fault: str | None = None) -> None:
        """``violation`` is set when the error is the bot's fault (recorded in violations);
        ``fault`` names the injected fault it comes from, if any.
        """
        super().__init__(description)
        self.status = status
        self.description = description
        self.violation = violation
        self.retry_after = retry_after
        self.fault = fault

    def body(self) -> JsonDict:
        """The JSON answer of the Bot API for this error."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


# --- Internal state -------------------------------------------------------------------------------

@dataclass
class _Message:
    chat_id: int
    message_id: int
    from_bot: bool
    method: str
    payload: JsonDict
    edits: int = 0
    deleted: bool = False

    def view(self) -> SentMessage:
        p = self.payload
        return SentMessage(
            chat_id=self.chat_id, message_id=self.message_id, method=self.method,
            text=p.get("text", p.get("caption")),
            entities=copy.deepcopy(list(p.get("entities") or p.get("caption_entities") or [])),
            reply_markup=copy.deepcopy(p.get("reply_markup")), document=copy.deepcopy(p.get("document")),
            edits=self.edits, deleted=self.deleted, payload=copy.deepcopy(p),
        )


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    description: str | None
    chat_id: int | str | None


@dataclass
class _FractionFault:
    method: str
    status: int
    fraction: float
    seed: int
    per: Literal["request", "chat"]
    chats: frozenset[int] | None
    retry_after: int | None
    description: str | None
    seen: Counter[Any] = field(default_factory=Counter)  # chat -> calls that reached this fault


@dataclass
class _Flood:
    methods: frozenset[str]
    at_call: int
    seconds: int
    seen: int = 0
    until: float | None = None  # end of the flood wait, once it began


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


@dataclass
class _Request:
    method: str
    raw: dict[str, Any]
    problems: list[str] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Every request opens a connection (HTTP/1.0). With socketserver's backlog of 5, a burst of
    # concurrent sends overflows it and the kernel drops a SYN, which the client resends 1 s
    # later: a pause that would be the double's, not the bot's.
    request_queue_size = 128
    double: BotApiDouble

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a long poll it abandoned) is not an error."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "BotApiDouble/1.0"

    def do_GET(self) -> None:
        cast(_Server, self.server).double._serve(self)

    def do_POST(self) -> None:
        cast(_Server, self.server).double._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``calls`` instead."""


# --- The double -----------------------------------------------------------------------------------

class BotApiDouble:
    """A Telegram Bot API on 127.0.0.1 that records calls and refuses what Telegram would refuse."""

    def __init__(self, token: str = "123456:TEST", bot_username: str = "careerbot_test_bot", *,
                 max_poll_seconds: float = 1.0, spec: Spec | None = None) -> None:
        """Prepare the double; ``start()`` (or ``with``) serves it."""
        self.token = token
        self.bot_username = bot_username
        self.max_poll_seconds = max_poll_seconds
        self.spec = spec or Spec.load()
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: JsonDict = {
            "id": bot_id, "is_bot": True, "first_name": "Careerbot (test)", "username": bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True,
        }
        self.violations: list[str] = []
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Updates and what the bot fetched.
        self._last_update_id = 10_000
        self._pending: list[JsonDict] = []
        self._delivered: dict[int, int] = {}  # update_id -> index of the last call when delivered
        self._update_chat: dict[int, int] = {}  # update_id -> chat it concerns
        self._last_update_of_chat: dict[int, int] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._webhook: JsonDict = {"url": ""}
        # Chats, users and messages.
        self._chats: dict[int, JsonDict] = {}
        self._bot_status: dict[int, str] = {}  # chat -> the bot's member status there
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], _Message] = {}
        self._ids = itertools.count(1)
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._inline_queries: dict[str, bool] = {}
        self.inline_answers: dict[str, JsonDict] = {}
        # Bot settings.
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        # Faults.
        self._faults: list[_Fault] = []
        self._fractions: list[_FractionFault] = []
        self._floods: list[_Flood] = []
        self._delays: list[_Delay] = []
        self._rate: float | None = None
        self._tokens = 0.0
        self._tokens_at = 0.0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> BotApiDouble:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the double is already started")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.double = self
        self._server = server
        self._stopping = False
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="BotApiDouble", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake pending long polls, stop serving and close the socket."""
        if self._server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiDouble:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the double listens on (after start())."""
        if self._server is None:
            raise RuntimeError("start the double first")
        return int(self._server.server_address[1])

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``: the bot calls ``{api_root}/bot{token}/{method}``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``, the ``base_url`` python-telegram-bot appends the token to."""
        return f"{self.api_root}/bot"

    def api_root_for(self, client: str) -> str:
        """An API root whose calls are recorded with ``Call.client == client`` (one per bot
        process, when several share the double).
        """
        if not _CLIENT.fullmatch(client):
            raise ValueError(f"a client name is letters, digits, '.', '_' or '-', got {client!r}")
        return f"{self.api_root}/as/{client}"

    # --- updates --------------------------------------------------------------------------------

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Enqueue any update (an ``update_id`` is assigned when missing); return its update_id."""
        body = copy.deepcopy(dict(update))
        with self._cond:
            if "update_id" not in body:
                body["update_id"] = self._last_update_id + 1
            update_id = int(body["update_id"])
            self._last_update_id = max(self._last_update_id, update_id)
            self._learn(body)
            chat_id = _chat_of_update(body)
            if chat_id is not None:
                self._update_chat[update_id] = chat_id
                self._last_update_of_chat[chat_id] = update_id
            self._pending.append(body)
            self._cond.notify_all()
        return update_id

    def take_update(self, update_id: int | None = None) -> JsonDict:
        """Take a queued update off the getUpdates queue (the last one queued, or this one), as
        Telegram does when it pushes it to a webhook; its JSON body, for the test to POST.

        From then on it counts as delivered: ``wait_reply`` looks for replies after this moment.
        """
        with self._cond:
            index = len(self._pending) - 1 if update_id is None else next(
                (i for i, u in enumerate(self._pending) if u["update_id"] == update_id), -1)
            if index < 0:
                raise ValueError("no update is queued" if update_id is None else
                                 f"update {update_id} is not queued (fetched or taken already?)")
            update = self._pending.pop(index)
            self._delivered.setdefault(update["update_id"], len(self._calls) - 1)
            return copy.deepcopy(update)

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private",
                  language_code: str = "fr", first_name: str = "Test", reply_to_message_id: int | None = None,
                  entities: list[JsonDict] | None = None) -> int:
        """A user writes ``text``.

        Like Telegram, the double marks a leading /command as a bot_command entity and each
        @username as a mention entity.
        """
        content: JsonDict = {"text": text}
        if entities is None:
            entities = []
            command = _COMMAND.match(text)
            if command is not None and (len(text) == command.end() or text[command.end()].isspace()):
                entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
            for mention in _MENTION.finditer(text):
                if command is None or mention.start() >= command.end():
                    entities.append({"type": "mention", "offset": utf16_len(text[:mention.start()]),
                                     "length": utf16_len(mention[0])})
        if entities:
            content["entities"] = entities
        return self._user_message(user_id, content, chat_id=chat_id, chat_type=chat_type,
                                  language_code=language_code, first_name=first_name,
                                  reply_to_message_id=reply_to_message_id)

    def send_sticker(self, user_id: int, *, emoji: str = "👍", **where: Any) -> int:
        """A user sends a sticker."""
        file_id = self._file_id("sticker")
        sticker = {"file_id": file_id, "file_unique_id": f"u{file_id}", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": emoji}
        return self._user_message(user_id, {"sticker": sticker}, **where)

    def send_photo(self, user_id: int, *, caption: str | None = None, **where: Any) -> int:
        """A user sends a photo (three sizes, as Telegram delivers them)."""
        file_id = self._file_id("photo")
        sizes = [{"file_id": f"{file_id}_{w}", "file_unique_id": f"u{file_id}_{w}", "width": w,
                  "height": w * 3 // 4, "file_size": w * 60} for w in (90, 320, 1280)]
        content: JsonDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, content, **where)

    def send_voice(self, user_id: int, *, duration: int = 3, **where: Any) -> int:
        """A user sends a voice note."""
        file_id = self._file_id("voice")
        voice = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": duration,
                 "mime_type": "audio/ogg", "file_size": 4000 * duration}
        return self._user_message(user_id, {"voice": voice}, **where)

    def send_document(self, user_id: int, *, file_name: str = "cv.pdf", mime_type: str = "application/pdf",
                      caption: str | None = None, **where: Any) -> int:
        """A user sends a file."""
        file_id = self._file_id("document")
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
                    "mime_type": mime_type, "file_size": 34_567}
        content: JsonDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, content, **where)

    def edit_text(self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None) -> int:
        """A user edits a text message they sent (an ``edited_message`` update)."""
        chat = user_id if chat_id is None else chat_id
        with self._cond:
            message = self._messages.get((chat, message_id))
            if message is None or message.from_bot or message.payload["from"]["id"] != user_id:
                raise ValueError(f"user {user_id} sent no message {message_id} in chat {chat}")
            if "text" not in message.payload:
                raise ValueError(f"message {message_id} in chat {chat} has no text to edit")
            message.payload["text"] = text
            message.payload["edit_date"] = _now()
            message.payload.pop("entities", None)
            message.edits += 1
            payload = copy.deepcopy(message.payload)
        return self.push_update({"edited_message": payload})

    def press_button(self, user_id: int, message_id: int, data: str, chat_id: int | None = None) -> int:
        """A user presses the inline button with this callback_data on a bot message."""
        chat = user_id if chat_id is None else chat_id
        with self._cond:
            message = self._messages.get((chat, message_id))
            if message is None or not message.from_bot or message.deleted:
                raise ValueError(f"the bot has no message {message_id} in chat {chat}")
            offered = message.view().callback_data
            if data not in offered:
                raise ValueError(f"message {message_id} has no button with callback_data {data!r} "
                                 f"(it has {offered})")
            query_id = str(8_000_000_000_000_000 + next(self._ids))
            self._callback_queries[query_id] = False
            user = self._user(user_id, "Test", "fr")
            query = {"id": query_id, "from": user, "message": copy.deepcopy(message.payload),
                     "chat_instance": str(abs(chat) * 7 + 13), "data": data}
        return self.push_update({"callback_query": query})

    def inline_query(self, user_id: int, query: str, *, offset: str = "") -> int:
        """A user types ``@bot query`` in any chat."""
        with self._cond:
            query_id = str(9_000_000_000_000_000 + next(self._ids))
            self._inline_queries[query_id] = False
            user = self._user(user_id, "Test", "fr")
        return self.push_update({"inline_query": {"id": query_id, "from": user, "query": query,
                                                  "offset": offset, "chat_type": "sender"}})

    def my_chat_member(self, user_id: int, status: str, *, chat_id: int | None = None,
                       chat_type: str = "private") -> int:
        """The bot's membership changes: in a private chat "kicked" means the user blocked it."""
        if status not in {"member", "kicked", "left", "administrator"}:
            raise ValueError(f"unsupported status {status!r}")
        with self._cond:
            user = self._user(user_id, "Test", "fr")
            chat = self._chat(user_id, chat_id, chat_type, user)
            update = self._membership_update(user, chat, status)
        return self.push_update(update)

    # --- observation ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request so far, in arrival order (a snapshot)."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The requests to one method, in arrival order."""
        return [call for call in self.calls if call.method == method]

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The messages the bot put in a chat, as they read now (after edits)."""
        with self._cond:
            return [m.view() for m in self._messages.values()
                    if m.chat_id == chat_id and m.from_bot and (include_deleted or not m.deleted)]

    @property
    def unanswered_callback_queries(self) -> list[str]:
        """Callback queries the bot never answered (the user's button keeps spinning)."""
        with self._cond:
            return [query_id for query_id, answered in self._callback_queries.items() if not answered]

    def requests_in_retry_windows(self, *, ignore: Collection[str] = ("getUpdates",)
                                  ) -> list[tuple[Call, Call]]:
        """(a 429 with retry_after=N, a later call that arrived within N seconds of that answer).

        Telegram's retry_after means "send nothing before N seconds": every such pair is a
        request the bot made while told to wait. The window opens when the double decided the
        429 (``answered_at``), so a request already on its way arrives before it and does not
        count. ``ignore``: methods flood control does not govern (the long poll, by default).
        """
        calls = self.calls
        arrivals = [call.at for call in calls]
        found: list[tuple[Call, Call]] = []
        for told in calls:
            if told.status != 429 or told.retry_after is None or told.answered_at is None:
                continue
            start = told.answered_at
            first = bisect.bisect_right(arrivals, start)
            last = bisect.bisect_left(arrivals, start + told.retry_after)
            found += [(told, call) for call in calls[first:last]
                      if call.method not in ignore and call is not told]
        return found

    def assert_no_violations(self) -> None:
        """Fail with every violation listed."""
        assert not self.violations, "Bot API violations:\n" + "\n".join(self.violations)

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 5.0, *, since: int = 0) -> Call:
        """The first answered call (at index >= since) matching predicate; wait up to timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls[since:]:
                    if call.status is not None and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(f"no matching call within {timeout} s"))
                self._cond.wait(remaining)

    def wait_reply(self, chat_id: int, after_update_id: int | None = None, timeout: float = 5.0) -> Call:
        """The first successful send or edit in chat_id after the bot fetched the update."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if after_update_id is None:
                after_update_id = self._last_update_of_chat.get(chat_id)
            while True:
                start = 0 if after_update_id is None else self._delivered.get(after_update_id)
                if start is not None:
                    for call in self._calls[start + 1:]:
                        if call.ok and call.method in REPLY_METHODS and call.params.get("chat_id") == chat_id:
                            return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    state = "was never fetched" if start is None else "was fetched but not answered"
                    raise AssertionError(self._timeout_report(
                        f"no reply in chat {chat_id} within {timeout} s (update {after_update_id} {state})"))
                self._cond.wait(remaining)

    async def wait_for_async(self, predicate: Callable[[Call], bool], timeout: float = 5.0, *,
                             since: int = 0) -> Call:
        """:meth:`wait_for` without blocking the event loop the bot runs in."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, since=since)

    async def wait_reply_async(self, chat_id: int, after_update_id: int | None = None,
                               timeout: float = 5.0) -> Call:
        """:meth:`wait_reply` without blocking the event loop the bot runs in."""
        return await asyncio.to_thread(self.wait_reply, chat_id, after_update_id, timeout)

    def _timeout_report(self, headline: str) -> str:
        lines = [headline, "last calls:"] + [f"  {call!r}" for call in self._calls[-12:]]
        if self.violations:
            lines += ["violations:"] + [f"  {v}" for v in self.violations]
        return "\n".join(lines)

    # --- faults ---------------------------------------------------------------------------------

    def fail_next(self, method: str, status: int, count: int = 1, *, retry_after: int | None = None,
                  description: str | None = None, chat_id: int | str | None = None) -> None:
        """The next ``count`` valid calls of method (to chat_id, if given) answer this error."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            self._faults.append(_Fault(method, status, count, retry_after, description, chat_id))

    def fail_fraction(self, method: str, status: int, fraction: float, *, seed: int,
                      per: Literal["request", "chat"] = "request", chats: Collection[int] | None = None,
                      retry_after: int | None = None, description: str | None = None) -> None:
        """Answer this error to a seeded, reproducible share of method's valid calls.

        ``per="chat"``: every call to a chat picked by ``chosen(seed, fraction, chat_id)`` fails
        (a 403 there is a user who blocked the bot). ``per="request"``: the n-th call (from 0)
        to a chat fails when ``chosen(seed, fraction, chat_id, n)`` (a 502 now and then, which the
        retry may pass). The pick depends on the chat and the count only, never on timing, so a
        run can predict who gets what. ``chats`` limits the fault to those chats.
        """
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be within [0, 1], got {fraction}")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            self._fractions.append(_FractionFault(
                method, status, fraction, seed, per, None if chats is None else frozenset(chats),
                retry_after, description))

    def flood_wait(self, at_call: int, seconds: int, *,
                   methods: Collection[str] = SEND_METHODS) -> None:
        """A flood wait: the at_call-th valid call of methods (counted from now, from 1) and
        every such call in the next ``seconds`` get 429, retry_after the seconds left (rounded up).
        """
        if at_call < 1 or seconds < 1:
            raise ValueError(f"at_call and seconds must be >= 1, got {at_call} and {seconds}")
        with self._cond:
            self._floods.append(_Flood(frozenset(methods), at_call, seconds))

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """The next ``count`` calls of method wait ``seconds`` before being answered."""
        with self._cond:
            self._delays.append(_Delay(method, seconds, count))

    def rate_limit(self, per_second: float | None) -> None:
        """Answer 429 when sends exceed per_second (a token bucket over all chats); None lifts it."""
        with self._cond:
            self._rate = per_second
            self._tokens = per_second or 0.0
            self._tokens_at = time.monotonic()

    # --- HTTP -----------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            status, body = self._answer(handler)
        except Exception as error:  # a bug in the double must fail the test, not hang it
            message = f"double internal error: {type(error).__name__}: {error}"
            with self._cond:
                self.violations.append(message)
            status, body = 500, {"ok": False, "error_code": 500, "description": message}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a cancelled long poll)

    def _answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, JsonDict]:
        url = urlsplit(handler.path)
        match = _PATH.fullmatch(url.path)
        if match is None or not match["method"]:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match["token"] != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        request = _Request(match["method"], {})
        request.raw.update({k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()})
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        received = time.monotonic()
        try:
            request.raw.update(_parse_body(handler.headers.get("Content-Type", ""), body))
        except ValueError as error:
            request.problems.append(f"{request.method}: {error}")

        canonical = self.spec.method_name(request.method)
        if canonical is None:
            params = dict(request.raw)
            problems = [self.spec.unknown_method(request.method)]
        else:
            request.method = canonical
            _resolve_attachments(request)
            params, problems = self.spec.validate(canonical, request.raw)
        problems = request.problems + problems
        call = self._record(request.method, params, match["client"], received,
                            _media_type(handler.headers.get("Content-Type", "")) if body else "")

        delay = self._take_delay(call.method)
        if delay:
            time.sleep(delay)
        with self._cond:
            try:
                if problems:
                    raise ApiError(400, "Bad Request: " + "; ".join(problems), violation="\n".join(problems))
                self._check_flood(call.method)
                self._check_rate(call.method)
                self._apply_fault(call.method, params)
                self._apply_fraction(call.method, params)
                result = self._execute(call)
                status, answer = 200, {"ok": True, "result": result}
            except ApiError as error:
                if error.violation is not None:
                    self.violations.extend(error.violation.split("\n"))
                status, answer = error.status, error.body()
                result = error.description
                call.retry_after, call.fault = error.retry_after, error.fault
            call.status, call.result = status, copy.deepcopy(result)
            call.answered_at = time.monotonic()
            self._cond.notify_all()
        return status, answer

    def _record(self, method: str, params: dict[str, Any], client: str | None = None,
                received: float | None = None, body_type: str = "") -> Call:
        with self._cond:
            call = Call(method, params, time.monotonic(), index=len(self._calls), client=client,
                        received=received, body_type=body_type)
            self._calls.append(call)
            self._cond.notify_all()
            return call

    def _take_delay(self, method: str) -> float:
        with self._cond:
            for delay in self._delays:
                if delay.method == method and delay.remaining > 0:
                    delay.remaining -= 1
                    return delay.seconds
        return 0.0

    def _check_rate(self, method: str) -> None:
        if self._rate is None or method not in SEND_METHODS:
            return
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._tokens_at) * self._rate)
        self._tokens_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return
        wait = max(1, math.ceil((1 - self._tokens) / self._rate))
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait,
                       fault="rate_limit")

    def _check_flood(self, method: str) -> None:
        now = time.monotonic()
        for flood in self._floods:
            if method not in flood.methods:
                continue
            if flood.until is None:
                flood.seen += 1
                if flood.seen == flood.at_call:
                    flood.until = now + flood.seconds
            if flood.until is not None and now < flood.until:
                wait = max(1, math.ceil(round(flood.until - now, 6)))  # (now + s) - now may be s + 1e-16
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait,
                               fault="flood_wait")

    def _apply_fault(self, method: str, params: Mapping[str, Any]) -> None:
        for fault in self._faults:
            if fault.method != method or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.remaining -= 1
            raise ApiError(fault.status, _fault_description(fault.status, fault.description,
                                                            fault.retry_after),
                           retry_after=fault.retry_after, fault="fail_next")

    def _apply_fraction(self, method: str, params: Mapping[str, Any]) -> None:
        chat = params.get("chat_id")
        for rule in self._fractions:
            if rule.method != method or (rule.chats is not None and chat not in rule.chats):
                continue
            count = rule.seen[chat]
            rule.seen[chat] += 1
            key = (chat,) if rule.per == "chat" else (chat, count)
            if chosen(rule.seed, rule.fraction, *key):
                raise ApiError(rule.status, _fault_description(rule.status, rule.description,
                                                               rule.retry_after),
                               retry_after=rule.retry_after, fault="fail_fraction")

    # --- methods (called with the lock held) ----------------------------------------------------

    def _execute(self, call: Call) -> Any:
        handler = getattr(self, f"_m_{call.method}", None)
        if handler is not None:
            return handler(call.params, call)
        if self.spec.returns(call.method) == ["Boolean"]:
            return True
        raise ApiError(400, f"Bad Request: the double has no answer for {call.method}",
                       violation=f"{call.method}: the double has no answer for it yet (add one in server.py)")

    def _m_getMe(self, params: JsonDict, call: Call) -> JsonDict:
        return dict(self.bot_user)

    def _m_getUpdates(self, params: JsonDict, call: Call) -> list[JsonDict]:
        if self._webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first",
                           violation="getUpdates: called while a webhook is set")
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"])
        offset = params.get("offset", 0)
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + min(params.get("timeout", 0), self.max_poll_seconds)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
            self._drop_unwanted_updates()
            if self._pending or self._stopping:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        updates = self._pending[: params.get("limit", 100)]
        # Replies to these updates can only come after this moment, not after the moment the
        # long poll began (sends made while it waited answer earlier updates).
        delivered_at = len(self._calls) - 1
        for update in updates:
            self._delivered.setdefault(update["update_id"], delivered_at)
        return copy.deepcopy(updates)

    def _drop_unwanted_updates(self) -> None:
        allowed = self._allowed_updates
        def wanted(update: JsonDict) -> bool:
            kind = next((key for key in update if key != "update_id"), "")
            return kind not in OPT_IN_UPDATES if not allowed else kind in allowed
        self._pending = [u for u in self._pending if wanted(u)]

    def _m_deleteWebhook(self, params: JsonDict, call: Call) -> bool:
        self._webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_setWebhook(self, params: JsonDict, call: Call) -> bool:
        self._webhook = {k: v for k, v in params.items() if k in {"url", "max_connections", "ip_address",
                                                                  "allowed_updates"}}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_getWebhookInfo(self, params: JsonDict, call: Call) -> JsonDict:
        return {**self._webhook, "has_custom_certificate": False, "pending_update_count": len(self._pending)}

    def _m_sendMessage(self, params: JsonDict, call: Call) -> JsonDict:
        chat = self._target_chat(call.method, params["chat_id"])
        parsed = parse_text(params["text"], params.get("parse_mode"), params.get("entities"))
        content: JsonDict = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._bot_send(call, chat, content, params)

    def _m_sendDocument(self, params: JsonDict, call: Call) -> JsonDict:
        chat = self._target_chat(call.method, params["chat_id"])
        document = params["document"]
        file_id = self._file_id("document")
        if isinstance(document, UploadedFile):
            info: JsonDict = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                              "file_name": document.filename, "mime_type": document.content_type,
                              "file_size": len(document.data)}
        else:
            name = urlsplit(document).path.rsplit("/", 1)[-1] if "://" in document else None
            info = {"file_id": file_id if name is not None else document, "file_unique_id": f"u{file_id}"}
            if name:
                info["file_name"] = name
        content: JsonDict = {"document": info}
        content.update(self._caption(params))
        return self._bot_send(call, chat, content, params)

    def _m_sendPhoto(self, params: JsonDict, call: Call) -> JsonDict:
        chat = self._target_chat(call.method, params["chat_id"])
        photo = params["photo"]
        file_id = self._file_id("photo")
        if isinstance(photo, UploadedFile):
            width, height = _photo_size(photo)
            sizes: list[JsonDict] = [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": width,
                                      "height": height, "file_size": len(photo.data)}]
        else:
            sizes = [{"file_id": photo if "://" not in photo else file_id, "file_unique_id": f"u{file_id}",
                      "width": 1280, "height": 1280}]
        content: JsonDict = {"photo": sizes}
        content.update(self._caption(params))
        return self._bot_send(call, chat, content, params)

    def _m_copyMessage(self, params: JsonDict, call: Call) -> JsonDict:
        source = self._source_message(params, "copy")
        chat = self._target_chat(call.method, params["chat_id"])
        content = {k: copy.deepcopy(v) for k, v in source.payload.items()
                   if k not in {"message_id", "from", "chat", "date", "edit_date", "reply_markup",
                                "reply_to_message", "forward_origin"}}
        if "caption" in params:
            content.pop("caption_entities", None)
            content.update(self._caption(params))
        message = self._bot_send(call, chat, content, params)
        return {"message_id": message["message_id"]}

    def _m_forwardMessage(self, params: JsonDict, call: Call) -> JsonDict:
        source = self._source_message(params, "forward")
        chat = self._target_chat(call.method, params["chat_id"])
        content = {k: copy.deepcopy(v) for k, v in source.payload.items()
                   if k not in {"message_id", "from", "chat", "date", "edit_date", "reply_to_message"}}
        content["forward_origin"] = {"type": "user", "sender_user": copy.deepcopy(source.payload["from"]),
                                     "date": source.payload["date"]}
        return self._bot_send(call, chat, content, {k: v for k, v in params.items() if k != "reply_markup"})

    def _m_editMessageText(self, params: JsonDict, call: Call) -> JsonDict:
        message = self._editable(call.method, params)
        if "text" not in message.payload:
            raise ApiError(400, "Bad Request: there is no text in the message to edit",
                           violation=f"editMessageText: message {message.message_id} has no text "
                                     f"(it was sent with {message.method})")
        parsed = parse_text(params.get("text", ""), params.get("parse_mode"), params.get("entities"))
        markup = _inline_markup(params.get("reply_markup"))
        before = (message.payload["text"], message.payload.get("entities", []),
                  _inline_markup(message.payload.get("reply_markup")))
        if before == (parsed.text, parsed.entities, markup):
            raise ApiError(400, NOT_MODIFIED, violation=(
                f"editMessageText: message is not modified (chat {message.chat_id}, message "
                f"{message.message_id}): the bot re-sent the same text and keyboard"))
        message.payload["text"] = parsed.text
        message.payload.pop("entities", None)
        if parsed.entities:
            message.payload["entities"] = parsed.entities
        self._set_markup(message, markup)
        return self._edited(message)

    def _m_editMessageReplyMarkup(self, params: JsonDict, call: Call) -> JsonDict:
        message = self._editable(call.method, params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == _inline_markup(message.payload.get("reply_markup")):
            raise ApiError(400, NOT_MODIFIED, violation=(
                f"editMessageReplyMarkup: message is not modified (chat {message.chat_id}, message "
                f"{message.message_id}): the bot re-sent the same keyboard"))
        self._set_markup(message, markup)
        return self._edited(message)

    def _m_deleteMessage(self, params: JsonDict, call: Call) -> bool:
        chat = self._known_chat(call.method, params["chat_id"])
        message = self._messages.get((chat["id"], params["message_id"]))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found", violation=(
                f"deleteMessage: message to delete not found (chat {chat['id']}, message "
                f"{params['message_id']})"))
        if not message.from_bot and chat["type"] != "private":
            raise ApiError(400, "Bad Request: message can't be deleted", violation=(
                f"deleteMessage: the bot is not an admin of chat {chat['id']} and cannot delete "
                f"message {message.message_id} of a user"))
        message.deleted = True
        return True

    def _m_answerCallbackQuery(self, params: JsonDict, call: Call) -> bool:
        query_id = params["callback_query_id"]
        if self._callback_queries.get(query_id, True):
            state = "was already answered" if query_id in self._callback_queries else "was never issued"
            raise ApiError(400, QUERY_TOO_OLD, violation=f"answerCallbackQuery: query {query_id!r} {state}")
        self._callback_queries[query_id] = True
        return True

    def _m_answerInlineQuery(self, params: JsonDict, call: Call) -> bool:
        query_id = params["inline_query_id"]
        if self._inline_queries.get(query_id, True):
            state = "was already answered" if query_id in self._inline_queries else "was never issued"
            raise ApiError(400, QUERY_TOO_OLD, violation=f"answerInlineQuery: query {query_id!r} {state}")
        self._inline_queries[query_id] = True
        self.inline_answers[query_id] = copy.deepcopy(params)
        return True

    def _m_sendChatAction(self, params: JsonDict, call: Call) -> bool:
        self._target_chat(call.method, params["chat_id"])
        return True

    def _m_setMyCommands(self, params: JsonDict, call: Call) -> bool:
        self.commands[_commands_key(params)] = copy.deepcopy(params["commands"])
        return True

    def _m_deleteMyCommands(self, params: JsonDict, call: Call) -> bool:
        self.commands.pop(_commands_key(params), None)
        return True

    def _m_getMyCommands(self, params: JsonDict, call: Call) -> list[JsonDict]:
        return copy.deepcopy(self.commands.get(_commands_key(params), []))

    def _m_setMyDescription(self, params: JsonDict, call: Call) -> bool:
        self.descriptions[("description", params.get("language_code", ""))] = params.get("description", "")
        return True

    def _m_setMyShortDescription(self, params: JsonDict, call: Call) -> bool:
        key = ("short_description", params.get("language_code", ""))
        self.descriptions[key] = params.get("short_description", "")
        return True

    def _m_setChatMenuButton(self, params: JsonDict, call: Call) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._known_chat(call.method, chat_id)
        self.menu_buttons[chat_id] = copy.deepcopy(params.get("menu_button", {"type": "default"}))
        return True

    def _m_getChat(self, params: JsonDict, call: Call) -> JsonDict:
        chat = self._known_chat(call.method, params["chat_id"])
        gifts = {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                 "premium_subscription": False, "gifts_from_channels": False}
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    # --- helpers (lock held) --------------------------------------------------------------------

    def _user(self, user_id: int, first_name: str, language_code: str) -> JsonDict:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}

    def _chat(self, user_id: int, chat_id: int | None, chat_type: str, user: JsonDict) -> JsonDict:
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is the user's id")
            chat: JsonDict = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        elif chat_type in {"group", "supergroup"}:
            chat_id = -abs(user_id) if chat_id is None else chat_id
            if chat_id >= 0:
                raise ValueError(f"group chat ids are negative, got {chat_id}")
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        self._chats.setdefault(chat["id"], chat)
        # The user's own private chat is known too: "a user or group it sent updates from".
        self._chats.setdefault(user_id, {"id": user_id, "type": "private", "first_name": user["first_name"]})
        return dict(self._chats[chat["id"]])

    def _membership_update(self, user: JsonDict, chat: JsonDict, status: str) -> JsonDict:
        old = self._bot_status.get(chat["id"], "member")
        self._bot_status[chat["id"]] = status

        def member(state: str) -> JsonDict:
            body: JsonDict = {"status": state, "user": dict(self.bot_user)}
            if state == "kicked":
                body["until_date"] = 0
            if state == "administrator":
                body.update({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                             "can_delete_messages": True, "can_manage_video_chats": False,
                             "can_restrict_members": False, "can_promote_members": False,
                             "can_change_info": False, "can_invite_users": True, "can_post_stories": False,
                             "can_edit_stories": False, "can_delete_stories": False})
            return body

        return {"my_chat_member": {"chat": chat, "from": user, "date": _now(),
                                   "old_chat_member": member(old), "new_chat_member": member(status)}}

    def _user_message(self, user_id: int, content: JsonDict, *, chat_id: int | None = None,
                      chat_type: str = "private", language_code: str = "fr", first_name: str = "Test",
                      reply_to_message_id: int | None = None) -> int:
        with self._cond:
            user = self._user(user_id, first_name, language_code)
            chat = self._chat(user_id, chat_id, chat_type, user)
            if chat["type"] == "private" and self._bot_status.get(chat["id"]) in {"kicked", "left"}:
                # Writing to a bot you blocked unblocks it; Telegram says so first.
                self.push_update(self._membership_update(user, chat, "member"))
            payload: JsonDict = {"message_id": self._new_message_id(chat["id"]), "from": user,
                                 "chat": chat, "date": _now(), **copy.deepcopy(content)}
            if reply_to_message_id is not None:
                replied = self._messages.get((chat["id"], reply_to_message_id))
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']}")
                payload["reply_to_message"] = copy.deepcopy(replied.payload)
            self._messages[(chat["id"], payload["message_id"])] = _Message(
                chat["id"], payload["message_id"], False, "user", payload)
            return self.push_update({"message": copy.deepcopy(payload)})

    def _learn(self, update: JsonDict) -> None:
        """Know the chats, users, messages and queries an update (maybe hand-made) shows."""
        for value in update.values():
            if not isinstance(value, dict):
                continue
            sender = value.get("from")
            if isinstance(sender, dict) and not sender.get("is_bot"):
                self._chats.setdefault(sender["id"], {"id": sender["id"], "type": "private",
                                                      "first_name": sender.get("first_name", "")})
            message = value if "message_id" in value else value.get("message")
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat = message["chat"]
                self._chats.setdefault(chat["id"], dict(chat))
                key = (chat["id"], message["message_id"])
                if key not in self._messages:
                    from_bot = bool(message.get("from", {}).get("is_bot"))
                    self._messages[key] = _Message(chat["id"], key[1], from_bot, "user",
                                                   copy.deepcopy(message))
                self._next_message_id[chat["id"]] = max(self._next_message_id.get(chat["id"], 0), key[1])
            elif isinstance(value.get("chat"), dict):
                self._chats.setdefault(value["chat"]["id"], dict(value["chat"]))
        if isinstance(update.get("callback_query"), dict):
            self._callback_queries.setdefault(str(update["callback_query"]["id"]), False)
        if isinstance(update.get("inline_query"), dict):
            self._inline_queries.setdefault(str(update["inline_query"]["id"]), False)

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _file_id(self, kind: str) -> str:
        return f"BQAC{kind[:3].upper()}{next(self._ids):08d}"

    def _known_chat(self, method: str, chat_id: int | str) -> JsonDict:
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else next(
            (c for c in self._chats.values() if f"@{c.get('username')}" == chat_id), None)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found", violation=(
                f"{method}: chat not found: {chat_id!r} (no update came from it)"))
        return dict(chat)

    def _target_chat(self, method: str, chat_id: int | str) -> JsonDict:
        chat = self._known_chat(method, chat_id)
        status = self._bot_status.get(chat["id"], "member")
        if status == "kicked":
            text = ("Forbidden: bot was blocked by the user" if chat["type"] == "private"
                    else f"Forbidden: bot was kicked from the {chat['type']} chat")
            raise ApiError(403, text)
        if status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        return chat

    def _caption(self, params: JsonDict) -> JsonDict:
        if "caption" not in params:
            return {}
        parsed = parse_text(params["caption"], params.get("parse_mode"), params.get("caption_entities"))
        content: JsonDict = {"caption": parsed.text}
        if parsed.entities:
            content["caption_entities"] = parsed.entities
        return content

    def _bot_send(self, call: Call, chat: JsonDict, content: JsonDict, params: JsonDict) -> JsonDict:
        payload: JsonDict = {"message_id": self._new_message_id(chat["id"]), "from": dict(self.bot_user),
                             "chat": chat, "date": _now(), **content}
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            replied_chat = reply["chat_id"] if "chat_id" in reply else chat["id"]
            replied = self._messages.get((int(replied_chat), reply["message_id"]))
            if replied is not None and not replied.deleted:
                payload["reply_to_message"] = copy.deepcopy(replied.payload)
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found", violation=(
                    f"{call.method}: message to be replied not found (chat {chat['id']}, message "
                    f"{reply['message_id']})"))
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:  # only inline keyboards belong to the message
            payload["reply_markup"] = markup
        message = _Message(chat["id"], payload["message_id"], True, call.method, payload)
        self._messages[(chat["id"], message.message_id)] = message
        return copy.deepcopy(payload)

    def _source_message(self, params: JsonDict, verb: str) -> _Message:
        chat = self._known_chat(f"{verb}Message", params["from_chat_id"])
        message = self._messages.get((chat["id"], params["message_id"]))
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {verb} not found", violation=(
                f"{verb}Message: message to {verb} not found (chat {chat['id']}, "
                f"message {params['message_id']})"))
        return message

    def _editable(self, method: str, params: JsonDict) -> _Message:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: message to edit not found", violation=(
                f"{method}: inline message {params['inline_message_id']!r} unknown (the double issues none)"))
        chat = self._known_chat(method, params["chat_id"])
        message = self._messages.get((chat["id"], params["message_id"]))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found", violation=(
                f"{method}: message to edit not found (chat {chat['id']}, message {params['message_id']})"))
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited", violation=(
                f"{method}: message {message.message_id} in chat {chat['id']} was sent by the user"))
        return message

    def _set_markup(self, message: _Message, markup: JsonDict | None) -> None:
        message.payload.pop("reply_markup", None)
        if markup is not None:
            message.payload["reply_markup"] = markup

    def _edited(self, message: _Message) -> JsonDict:
        message.edits += 1
        message.payload["edit_date"] = _now()
        return copy.deepcopy(message.payload)


# --- Module helpers ---------------------------------------------------------------------------------

def chosen(seed: int, fraction: float, *key: object) -> bool:
    """Whether ``fail_fraction`` picks this key (a chat, or a chat and a count) under this seed.

    A hash, not a random stream: the pick is the same whatever the order the calls arrive in.
    """
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def _fault_description(status: int, description: str | None, retry_after: int | None) -> str:
    if description is not None:
        return description
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if status == 502:
        return "Bad Gateway"
    if status >= 500:
        return "Internal Server Error"
    return DEFAULT_DESCRIPTIONS.get(status, "Bad Request: injected failure")


def _now() -> int:
    return int(time.time())


def _inline_markup(markup: Any) -> JsonDict | None:
    """The inline keyboard a message carries; an empty one is no keyboard."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return copy.deepcopy(markup)
    return None


def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code", ""))


def _chat_of_update(update: Mapping[str, Any]) -> int | None:
    for value in update.values():
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("chat"), dict):
            return int(value["chat"]["id"])
        message = value.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"]["id"])
        if isinstance(value.get("from"), dict):
            return int(value["from"]["id"])
    return None


def _media_type(content_type: str) -> str:
    """"multipart/form-data; boundary=x" -> "multipart/form-data"."""
    return content_type.split(";", 1)[0].strip().lower()


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The parameters of a form-encoded, multipart or JSON body (ValueError if malformed)."""
    if not body:
        return {}
    kind = _media_type(content_type)
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise ValueError(f"the JSON body does not parse: {error}") from None
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body must be an object")
        return decoded
    if kind == "multipart/form-data":
        return dict(_multipart(content_type, body))
    if kind in {"application/x-www-form-urlencoded", ""}:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the form body is not UTF-8") from None
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    raise ValueError(f"unsupported Content-Type {content_type!r}")


def _photo_size(photo: UploadedFile) -> tuple[int, int]:
    """Width and height of an uploaded PNG or JPEG, held to sendPhoto's limits.

    "The photo must be at most 10 MB in size. The photo's width and height must not exceed 10000
    in total. Width and height ratio must be at most 20."
    """
    data = photo.data
    if len(data) > 10 * 1024 * 1024:
        raise ApiError(400, "Bad Request: PHOTO_INVALID", violation=(
            f"sendPhoto: photo of {len(data)} bytes, at most 10 MB"))
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif data.startswith(b"\xff\xd8"):
        return 1280, 1280  # JPEG: its size is not read here
    else:
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED", violation=(
            "sendPhoto: the uploaded photo is neither a PNG nor a JPEG"))
    if width + height > 10000 or max(width, height) > 20 * max(min(width, height), 1):
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS", violation=(
            f"sendPhoto: {width}x{height}: width + height must be at most 10000 and the ratio at most 20"))
    return width, height


def _multipart(content_type: str, body: bytes) -> Iterator[tuple[str, str | UploadedFile]]:
    boundary_match = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary_match is None:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + boundary_match[1].encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("malformed multipart part")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = {m["key"].lower(): m["value"].replace('\\"', '"')
                       for m in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", ""))}
        if "name" not in disposition:
            raise ValueError("multipart part without a name")
        if "filename" in disposition:
            yield disposition["name"], UploadedFile(disposition["name"], disposition["filename"],
                                                    headers.get("content-type", "application/octet-stream"),
                                                    data)
        else:
            yield disposition["name"], data.decode("utf-8")


def _resolve_attachments(request: _Request) -> None:
    """Replace ``attach://name`` values by the file part ``name`` (which is then no field)."""
    used: set[str] = set()
    for key, value in list(request.raw.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            part = request.raw.get(name)
            if not isinstance(part, UploadedFile):
                request.problems.append(f"{request.method}: {key}: no file part named {name!r} to attach")
                continue
            request.raw[key] = part
            used.add(name)
    for name in used:
        request.raw.pop(name, None)
