"""jepa_world.data.video: moving-digits clips (generated, with ground-truth positions), the Moving-MNIST
``.npy`` loader and the deterministic training batch source."""

from jepa_world.data.video.moving_digits import MovingDigits, MovingDigitsConfig, VideoClips
from jepa_world.data.video.moving_mnist import VideoArray, load_moving_mnist
from jepa_world.data.video.source import VideoDataConfig, VideoSource

__all__ = ["MovingDigits", "MovingDigitsConfig", "VideoArray", "VideoClips", "VideoDataConfig", "VideoSource",
           "load_moving_mnist"]
