"""Networks, their configs and their self-describing model files."""
from .colorizers import HINT_CHANNELS, ClassicColorizer, LiteFPNColorizer
from .config import InferenceConfig, ModelConfig
from .io import MODEL_FILE, LoadedModel, build_model, load_model_file, model_file_step, save_model_file
from .validate import ModelFileError

__all__ = ["MODEL_FILE", "HINT_CHANNELS", "ClassicColorizer", "LiteFPNColorizer", "InferenceConfig", "ModelConfig", "LoadedModel",
           "build_model", "load_model_file", "model_file_step", "save_model_file", "ModelFileError"]
