"""Custom Keras layers shared by the models, all registered (package ``zoo``) so that
``.keras`` files round-trip. One file per family; everything is re-exported here."""
from zoo.layers.attention import *  # noqa: F401,F403  gru_bert attention pooling (Kumar 2021 Eq. 2-4)
from zoo.layers.hop import *  # noqa: F401,F403  AMH modality hop (Yoon 2020 Eq. 2-5)
from zoo.layers.gated_attention import *  # noqa: F401,F403  BLSTMATT global-context attention (Jalal 2020)
from zoo.layers.conv_attention import *  # noqa: F401,F403  CSA convolutional self-attention with gamma
from zoo.layers.fusion import *  # noqa: F401,F403  ParallelNet softmax-weighted late fusion
from zoo.layers.outputs import *  # noqa: F401,F403  the classifier output carrying its label names
from zoo.layers.frontends import *  # noqa: F401,F403  in-graph audio front-ends (waveform -> the zoo's spectral features)
from zoo.layers.masking import *  # noqa: F401,F403  sequence masks from true lengths (``<name>_length`` inputs)
