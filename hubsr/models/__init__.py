"""Every hubsr architecture, one module each; importing this package registers them all."""

from .abpn import ABPN
from .bicubic import Bicubic
from .edsr import EDSR
from .espcn import ESPCN
from .rcan import RCAN
from .span import SPAN
from .srcnn import SRCNN
from .swinir import SwinIR
from .vdsr import VDSR

__all__ = ["ABPN", "EDSR", "ESPCN", "RCAN", "SPAN", "SRCNN", "VDSR", "Bicubic", "SwinIR"]
