"""snlab: a lab for "Spectral Normalization for Generative Adversarial Networks" (Miyato et al., ICLR 2018)."""
from snlab.config import TrainConfig
from snlab.methods import METHODS
from snlab.models import build_models, normalize
from snlab.settings import PRESETS, SETTINGS
from snlab.train import TrainResult, load_run, train

__all__ = ["METHODS", "SETTINGS", "PRESETS", "build_models", "normalize", "TrainConfig", "TrainResult", "load_run",
           "train"]
