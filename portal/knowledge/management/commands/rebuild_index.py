from django.core.management.base import BaseCommand

from portal.knowledge.indexing import index_sync, keyword_index_sync


class Command(BaseCommand):
    help = "Rebuild the FAISS index of an embedding model and the BM25 index from the database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model", help="embedding model (default: EMBEDDING_MODEL)")

    def handle(self, *args, **opts) -> None:
        result = index_sync(model=opts["model"], rebuild=True)
        self.stdout.write(f"{result.model}: version {result.version}, {result.size} vectors")
        self.stdout.write(f"bm25: version {keyword_index_sync(rebuild=True)}")
