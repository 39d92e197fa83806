"""Sample-quality metrics: IS, FID, KID, precision/recall, with the paper's protocol as default (SPEC §7)."""
from snlab.metrics.evaluation import EXTRACTOR_LABELS, EXTRACTORS, PAPER_PROTOCOL, evaluate
from snlab.metrics.scores import frechet_distance, inception_score

__all__ = ["evaluate", "frechet_distance", "inception_score", "EXTRACTORS", "EXTRACTOR_LABELS", "PAPER_PROTOCOL"]
