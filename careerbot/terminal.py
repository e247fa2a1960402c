"""The conversation in a terminal: the same replies as on Telegram, buttons as numbers."""

from __future__ import annotations

from typing import TextIO

from careerbot import callbacks as cb
from careerbot.conversation import Conversation, Reply
from careerbot.numbers import ascii_int
from careerbot.telegram_html import visible_text

PROMPT = "vous> "
QUIT = {"/quit", "/exit", "/q", "quit", "exit"}
COMMANDS: dict[str, cb.Action] = {
    "/start": cb.Menu(), "/menu": cb.Menu(), "/themes": cb.Themes(), "/evenements": cb.Events(),
    "/events": cb.Events(), "/aide": cb.Help(), "/help": cb.Help()}


def render(reply: Reply) -> str:
    """A reply as plain text: its message, its links, then numbered choices."""
    lines = [visible_text(reply.html)]
    links = [b for row in reply.buttons for b in row if b.url]
    if links:
        lines.append("")
        lines.extend(f"{b.label} : {b.url}" for b in links)
    actions = reply.actions()
    if actions:
        lines.append("")
        lines.extend(f"  [{n}] {b.label}" for n, b in enumerate(actions, 1))
    return "\n".join(lines)


def chat(conversation: Conversation, stdin: TextIO, stdout: TextIO) -> None:
    """Read messages line by line and print the bot's replies until /quit or end of input."""
    reply = conversation.welcome()
    stdout.write(render(reply) + "\n\nTapez un numéro pour choisir, /quit pour sortir.\n")
    while True:
        stdout.write(f"\n{PROMPT}")
        stdout.flush()
        line = stdin.readline()
        if not line or line.strip().lower() in QUIT:
            stdout.write("\nÀ bientôt ! 👋\n")
            return
        reply = respond(conversation, reply, line.strip())
        stdout.write("\n" + render(reply) + "\n")


def respond(conversation: Conversation, previous: Reply, text: str) -> Reply:
    """The reply to one line: a choice number, a command, or a question."""
    actions = previous.actions()
    choice = ascii_int(text)
    if choice is not None and 1 <= choice <= len(actions):
        return conversation.act(actions[choice - 1].action or "")
    if choice is not None and actions:  # a number beside the choices: say which ones there are
        return Reply(f"Tapez un numéro entre 1 et {len(actions)}, ou écrivez votre question.",
                     previous.buttons)
    command = COMMANDS.get(text.split(" ")[0].lower())
    if command:
        return conversation.follow(command)
    return conversation.ask(text)
