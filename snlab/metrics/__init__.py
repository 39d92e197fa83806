"""Sample-quality metrics: IS, FID, intra-FID, KID, precision/recall; the paper's protocol by default
(docs/paper.md §7)."""
from snlab.metrics.evaluation import EXTRACTOR_LABELS, EXTRACTORS, PAPER_PROTOCOL, evaluate, intra_class_fid
from snlab.metrics.scores import frechet_distance, inception_score, intra_fid

__all__ = ["evaluate", "intra_class_fid", "frechet_distance", "inception_score", "intra_fid", "EXTRACTORS",
           "EXTRACTOR_LABELS", "PAPER_PROTOCOL"]
