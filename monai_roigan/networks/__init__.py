"""Networks: the ROI-mammoGAN generator and discriminator (conditional or per class) and the ROI classifier
(``networks.nets``); loading a trained generator from its weights; its inference copy; and sampling it
(``networks.sampling``: latents, truncation, batched generation, fitting ROIs to a pipeline); and the pool of generated
ROIs with the loop that fills it with the candidates a sample filter accepts (``networks.pool``)."""

from .inference import fold_batch_norms, inference_network
from .loading import generator_from_state, load_generator
from .nets import (
    PRESETS,
    ContextROIGenerator,
    PerClassDiscriminator,
    PerClassGenerator,
    ROIClassifier,
    ROIDiscriminator,
    ROIGenerator,
)
from .pool import DEFAULT_POOL_SIZE, AcceptedCandidates, ROIBank, SampleFilter, accepted_candidates
from .sampling import (
    LATENT_DISTRIBUTIONS,
    check_truncation,
    fit_to_pipeline,
    latent_for,
    run_generator,
    sample_latent,
    synthesize,
)
from .source import GeneratorSource, as_generator_source, describe_weights
from .transfer import discriminator_blocks, freeze_lower_blocks, transfer_weights

__all__ = [
    "AcceptedCandidates",
    "ContextROIGenerator",
    "DEFAULT_POOL_SIZE",
    "GeneratorSource",
    "LATENT_DISTRIBUTIONS",
    "PRESETS",
    "PerClassDiscriminator",
    "PerClassGenerator",
    "ROIClassifier",
    "ROIDiscriminator",
    "ROIBank",
    "ROIGenerator",
    "SampleFilter",
    "accepted_candidates",
    "as_generator_source",
    "check_truncation",
    "describe_weights",
    "discriminator_blocks",
    "fit_to_pipeline",
    "fold_batch_norms",
    "freeze_lower_blocks",
    "run_generator",
    "generator_from_state",
    "inference_network",
    "latent_for",
    "load_generator",
    "sample_latent",
    "synthesize",
    "transfer_weights",
]
