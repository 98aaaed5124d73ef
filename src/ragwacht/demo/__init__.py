"""The embedded demo RAG chatbot: BM25, dense and hybrid retrieval over a small corpus.

Typical use::

    from ragwacht.demo import BotServer, DemoBot

    bot = DemoBot()  # the shipped BAG/WOZ/BGT/BRK corpus, or DemoBot("my-docs/")
    bot.answer("Wie zijn de bronhouders van de BAG?", retrieval="bm25", top_k=3)
    with BotServer(bot) as server:
        ...  # POST {server.base_url}/chat or /v1/chat/completions
"""

from ragwacht.demo.bot import ChatRequest, ChatResponse, DemoBot
from ragwacht.demo.corpus import Passage, load_corpus
from ragwacht.demo.server import BotServer, create_app, serve

__all__ = [
    "BotServer",
    "ChatRequest",
    "ChatResponse",
    "DemoBot",
    "Passage",
    "create_app",
    "load_corpus",
    "serve",
]
