"""Published networks expressed in the MobileNet-like space, with their published sizes.

Each entry is an architecture string of the space, the width preset it is built with
(:data:`~nasrank.spaces.mobilenet.WIDTH_PRESETS`), and the published parameter count / FLOPs with
their sources. The block choices were read off the released network configurations (block by
block: kernel, expansion, and whether the block is a zero/skip).

Provenance:

* ProxylessNAS-GPU / -CPU / -Mobile: Cai et al., "ProxylessNAS: Direct Neural Architecture Search
  on Target Task and Hardware", ICLR 2019; released networks of github.com/mit-han-lab/proxylessnas
  (``proxyless_gpu``, ``proxyless_cpu``, ``proxyless_mobile``; the evaluation logs
  ``logs/imagenet_{gpu,cpu,mobile}_log.txt`` print "Total training params: 7.12M / 4.36M / 4.08M"
  and "Total FLOPs: 465.3M / 439.2M / 320.4M"). Exact integer counts (7,119,848 / 4,361,648 /
  4,080,512, and 6,857,568 for ``proxyless_mobile_14``) are those asserted for the ported
  pretrained networks in osmr/imgclsmob (``pytorchcv/models/proxylessnas.py``). Seed 004 Table 7
  lists ProxylessNAS (GPU) with 7.1 M parameters.
* MobileNetV2 (Sandler et al., CVPR 2018): 3.4 M parameters and 300 M multiply-adds in the paper
  (Table 4); 3,504,872 parameters in torchvision's ``mobilenet_v2`` (1000 classes), whose blocks
  are all expansion-6 3 x 3 MBConvs with (2, 3, 4, 3, 3, 1) blocks per stage -- the space's stages
  with trailing skips.
"""

from __future__ import annotations

from dataclasses import dataclass

from .encoding import Arch, from_str

__all__ = ["PublishedNet", "PUBLISHED"]


@dataclass(frozen=True)
class PublishedNet:
    """A published network of the space.

    Attributes:
        name: Short name.
        arch_str: Architecture in the space's string format.
        widths: Width preset name.
        params: Published parameter count (1000 classes), exact where known.
        params_rounded_m: The figure the paper / logs print, in millions.
        flops_m: Published FLOPs (multiply-adds, millions, 224 x 224), or ``None``.
        source: Where the numbers come from.

    Example:
        >>> PUBLISHED["proxylessnas-gpu"].params, PUBLISHED["proxylessnas-gpu"].arch[:4]
        (7119848, (3, 0, 0, 0))
    """

    name: str
    arch_str: str
    widths: str
    params: int | None
    params_rounded_m: float
    flops_m: float | None
    source: str

    @property
    def arch(self) -> Arch:
        """The encoding of :attr:`arch_str`."""
        return from_str(self.arch_str)


def _s(*stages: str) -> str:
    return "|".join(stages)


_SKIP = "skip_connect"
_GPU = _s(f"MB3_5x5,{_SKIP},{_SKIP},{_SKIP}", f"MB3_7x7,{_SKIP},{_SKIP},MB3_3x3", f"MB6_7x7,{_SKIP},{_SKIP},MB3_5x5",
          f"MB6_5x5,{_SKIP},MB3_3x3,MB3_5x5", "MB6_7x7,MB6_7x7,MB6_7x7,MB6_5x5", "MB6_7x7")
_CPU = _s("MB6_3x3,MB3_3x3,MB3_3x3,MB3_3x3", "MB6_3x3,MB3_3x3,MB3_3x3,MB3_5x5", f"MB6_3x3,{_SKIP},{_SKIP},MB3_3x3",
          "MB6_5x5,MB3_3x3,MB3_3x3,MB3_3x3", "MB6_5x5,MB3_5x5,MB3_5x5,MB3_3x3", "MB6_5x5")
_MOBILE = _s(f"MB3_5x5,MB3_3x3,{_SKIP},{_SKIP}", "MB3_7x7,MB3_3x3,MB3_5x5,MB3_5x5", "MB6_7x7,MB3_5x5,MB3_5x5,MB3_5x5",
             "MB6_5x5,MB3_5x5,MB3_5x5,MB3_5x5", "MB6_7x7,MB6_7x7,MB3_7x7,MB3_7x7", "MB6_7x7")
_MBV2 = _s(f"MB6_3x3,MB6_3x3,{_SKIP},{_SKIP}", f"MB6_3x3,MB6_3x3,MB6_3x3,{_SKIP}", "MB6_3x3,MB6_3x3,MB6_3x3,MB6_3x3",
           f"MB6_3x3,MB6_3x3,MB6_3x3,{_SKIP}", f"MB6_3x3,MB6_3x3,MB6_3x3,{_SKIP}", "MB6_3x3")
_PROXYLESS = "ProxylessNAS (Cai et al., ICLR 2019), mit-han-lab/proxylessnas logs; exact count osmr/imgclsmob"

#: The published networks, by name.
PUBLISHED: dict[str, PublishedNet] = {
    "proxylessnas-gpu": PublishedNet("proxylessnas-gpu", _GPU, "gpu", 7_119_848, 7.12, 465.3,
                                     _PROXYLESS + "; seed 004 Tab. 7 (7.1 M)"),
    "proxylessnas-cpu": PublishedNet("proxylessnas-cpu", _CPU, "cpu", 4_361_648, 4.36, 439.2, _PROXYLESS),
    "proxylessnas-mobile": PublishedNet("proxylessnas-mobile", _MOBILE, "mobile", 4_080_512, 4.08, 320.4,
                                        _PROXYLESS),
    "proxylessnas-mobile14": PublishedNet("proxylessnas-mobile14", _MOBILE, "mobile14", 6_857_568, 6.86, None,
                                          "ProxylessNAS released proxyless_mobile_14; exact count osmr/imgclsmob"),
    "mobilenetv2": PublishedNet("mobilenetv2", _MBV2, "mobilenetv2", 3_504_872, 3.4, 300.0,
                                "MobileNetV2 (Sandler et al., CVPR 2018) Tab. 4: 3.4 M, 300 M MAdds; "
                                "torchvision mobilenet_v2: 3,504,872"),
}
