"""The base of every video detector: what MAMBA, SELSA, DFF, FGFA, MEGA ... share, and the hooks
where they differ.

Shape shorthand: B clips (or frames of B streams), T frames of a clip (index 0 the key frame,
1.. its N = T - 1 references), C channels of a map, h x w a map, H x W the padded input.
"""
import contextlib
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mamba_vod.registry import MODELS

from ..memory import StateCarrier
from .memory_state import MemoryState, StreamMemories
from .rpn_loss import rpn_loss_and_proposals
from .video_frame import VideoFrame, as_clips


@MODELS.register_module()
class BaseVideoDetector(TwoStageDetector):
    """A two-stage detector over clips and streams; with none of its hooks doing anything, exactly
    Faster R-CNN on the key frame.

    What the base owns:

    - **clips**: inputs (B, T, 3, H, W) from :class:`VideoDataPreprocessor` (a (B, 3, H, W)
      batch is clips of one frame); one data sample per clip, the key frame's, with its
      ``video_id``, ``frame_id`` and ``ref_frame_ids``.
    - **training** (:meth:`loss`, :meth:`_forward`): :meth:`train_features` gives the key
      frames' maps and the RoI head's keyword arguments; then RPN and RoI losses as mmdet's.
    - **streams**: the state of every :class:`~mamba_vod.models.memory.StateCarrier` module of
      the model (found by walking the modules) is one stream's :class:`MemoryState`;
      :attr:`memories` holds the one read now and swaps it. A frame of another ``video_id``
      empties it, a frame of another size (``ori_shape``) makes each part react
      (:meth:`~mamba_vod.models.memory.CarriedState.on_frame_size_change`); ``train()`` /
      ``eval()`` and loading weights empty it too.
    - **test**: :meth:`predict` runs clip after clip through the current state (a clip with
      references comes from an offline protocol); :meth:`predict_streams` runs one frame of each
      of B streams as one batch (backbone, RPN, RoI head), each frame's hooks in its own state.

    A test frame, stage by stage (one :class:`VideoFrame`, hooks in the frame's stream state)::

        runs_backbone(frame)        -> whether the backbone runs on it (DFF: key frames only)
        extract_frames(clips, frames, runs) -> frame.raw (backbone + neck, batched over the
                                       frames that run it; in the frame's state when B = 1);
                                       returns refs (a clip with references)
        take_references(frame, refs)-> frame.references (a clip with references only)
        enhance_maps(frame)         -> frame.x, the maps the RPN and RoI head read
        RPN                         -> frame.proposals, batched
        frame_keys(frame)           -> frame.keys, what the RoI head reads beside the RoIs
        RoI head(**roi_head_kwargs(frames)) -> frame.detections, batched
        write_frame(frame)          -> the frame's writes to the state

    How a new method plugs in: one detector file with a subclass that

    1. builds its stateful parts as :class:`~mamba_vod.models.memory.StateCarrier` modules
       (their ``new_state()`` gives a :class:`~mamba_vod.models.memory.CarriedState`: reset,
       on_frame_size_change, nbytes) — they are found, never named here;
    2. overrides the hooks that differ: :meth:`train_features` (how references feed training),
       :meth:`runs_backbone` / :meth:`enhance_maps` (map-level methods: DFF warps the key
       frame's maps, FGFA aggregates a window of past maps, MAMBA's pixel level), :meth:`frame_keys`
       and :meth:`roi_head_kwargs` (proposal-level methods: SELSA / TRA / MEGA read the cached
       proposal features, TRA also reference maps, MAMBA its instance memory),
       :meth:`write_frame` (what a frame leaves: memory rows, key-frame maps, a queue entry),
       :meth:`take_references` (offline protocols: explicit references of a test clip),
       :meth:`extract_frames` (which frames of a test batch or clip go through the backbone, and
       how: FGFA's offline window takes the maps it keeps by frame id, so each frame's backbone
       runs once);
    3. sets :attr:`uses_references` (training needs clips with references, test references are
       read) and :attr:`test_protocols` (the data side's protocols it accepts);
    4. adds its synthetic config to ``tests/models/detectors/test_video_detector_contract.py``.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg:
            as :class:`TwoStageDetector` (plain dicts work as well as configs).
    """

    #: the test protocols (``mamba_vod.datasets.test_protocol``) this detector accepts
    test_protocols: Tuple[str, ...] = ('online', )

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        # plain dicts work as well as configs (mmdet reads e.g. train_cfg.rpn)
        train_cfg, test_cfg = (None if cfg is None else ConfigDict(copy.deepcopy(cfg)) for cfg in (train_cfg, test_cfg))
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._memories: Optional[StreamMemories] = None
        self._register_load_state_dict_pre_hook(_forget_states, with_module=True)

    # ------------------------------------------------------------------ state
    @property
    def memories(self) -> StreamMemories:
        """The stream state read now and the means to swap it; the carriers are found at first
        use (after construction) among the model's modules, by name."""
        if self._memories is None:
            self._memories = StreamMemories({name: module for name, module in self.named_modules()
                                             if isinstance(module, StateCarrier)})
        return self._memories

    def reset_memory(self, names: Optional[Sequence[str]] = None) -> None:
        """Empties the current states ``names`` (carriers' module names; all when None)."""
        self.memories.reset(names)

    def train(self, mode: bool = True) -> 'BaseVideoDetector':
        super().train(mode)
        self.reset_memory()  # what was written with other weights or in another mode is stale
        return self

    @property
    def uses_references(self) -> bool:
        """Whether training needs clips with references (T >= 2) and test clips' references are read
        (:meth:`take_references`); else a test clip's references are dropped."""
        return False

    def count_in_test_cfg(self, key: str, default: int) -> int:
        """``test_cfg[key]`` (``default`` when absent), a whole number >= 1 (a method's frame
        count: DFF's key frame interval, FGFA's online references); else ValueError."""
        value = (self.test_cfg or {}).get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f'model.test_cfg.{key} must be a whole number >= 1, got {value!r}')
        return value

    # ------------------------------------------------------------------ hooks
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor, ...], dict]:
        """Training (and tensor mode): the key frames' maps (one (B, C, h, w) per level) of clips
        (B, T, 3, H, W), and the keyword arguments of the RoI head. Base: the key frames alone."""
        return self.extract_feat(clips[:, 0]), {}

    def runs_backbone(self, frame: VideoFrame) -> bool:
        """Whether the backbone runs on this test frame (else ``frame.raw`` stays None)."""
        return True

    def take_references(self, frame: VideoFrame, references: Tuple[Tensor, ...]):
        """A test clip's explicit references (one (N, C, h, w) per level) for the key frame
        ``frame``: fill the state, and/or return what later hooks read as ``frame.references``."""
        return None

    def enhance_maps(self, frame: VideoFrame) -> Tuple[Tensor, ...]:
        """The maps (one (1, C, h, w) per level) the RPN and RoI head read. Base: ``frame.raw``."""
        return frame.raw

    def frame_keys(self, frame: VideoFrame):
        """What the RoI head reads for this frame beside its RoIs (from the state, the
        references, ``frame.proposals``), kept as ``frame.keys``. Base: None."""
        return None

    def roi_head_kwargs(self, frames: Sequence[VideoFrame]) -> dict:
        """The RoI head's keyword arguments for a batch of frames (from their ``keys``). Base: {}."""
        return {}

    def write_frame(self, frame: VideoFrame) -> None:
        """What a detected frame writes to the state. Base: nothing."""

    def extract_frames(self, clips: Tensor, frames: List[VideoFrame],
                       runs: List[bool]) -> Optional[Tuple[Tensor, ...]]:
        """The backbone (+ neck) stage of a test batch, before :meth:`take_references`.

        Args:
            clips: (B, T, 3, H, W), the inputs of ``frames``; T > 1 (a clip with references, from
                an offline protocol) only with B = 1.
            frames: the B key frames, in the order of ``clips``.
            runs: :meth:`runs_backbone` of each frame.

        State: with one frame (B = 1, so always for a clip with references) the frame's stream
        state is the current one here (``self.memories.current``, read and written by the
        carriers, e.g. FGFA's window of kept maps); a batch of B > 1 streams' frames runs
        outside all of their states, so the hook must not read or write the state then.

        Sets ``frame.raw`` (one (1, C, h, w) per level) of the frames that run the backbone; the
        others keep None. Returns what :meth:`take_references` receives as ``references``: None
        when the clip has no references or they are not read (:attr:`uses_references` False).

        Base: the frames that run the backbone as one batch; a clip with references, its T frames
        as one batch, returning the references' maps ((N, C, h, w) per level).
        """
        if clips.shape[1] > 1 and self.uses_references:
            if len(frames) != 1:
                raise ValueError('clips with references are detected one at a time (predict)')
            feats = self.extract_feat(clips[0])  # (T, C, h, w) per level: the key frame, then its references
            if runs[0]:
                frames[0].raw = tuple(level[:1] for level in feats)
            return tuple(level[1:] for level in feats)
        index = [b for b, run in enumerate(runs) if run]
        if index:
            images = clips[:, 0] if len(index) == len(frames) else clips[index, 0]
            feats = self.extract_feat(images)
            for position, b in enumerate(index):
                frames[b].raw = tuple(level[position:position + 1] for level in feats)
        return None

    # --------------------------------------------------------------- training
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """RPN + R-CNN losses of the key frames of clips (B, T, 3, H, W)."""
        clips = as_clips(batch_inputs)
        if self.uses_references and clips.shape[1] < 2:
            raise ValueError(f'{type(self).__name__} training needs reference frames: inputs of shape (B, T >= 2, 3, '
                             f'H, W), got {tuple(clips.shape)}; set num_ref_frames in the train pipeline')
        x, roi_kwargs = self.train_features(clips, batch_data_samples)
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        losses, rpn_results_list = rpn_loss_and_proposals(self.rpn_head, x, batch_data_samples, proposal_cfg)
        losses.update(self.roi_head.loss(x, rpn_results_list, batch_data_samples, **roi_kwargs))
        return losses

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList = None) -> tuple:
        """Raw head outputs of the key frames of clips, as in training (no stream state)."""
        x, roi_kwargs = self.train_features(as_clips(batch_inputs), batch_data_samples)
        rpn_results_list = self.rpn_head.predict(x, batch_data_samples, rescale=False)
        return (self.roi_head.forward(x, rpn_results_list, batch_data_samples, **roi_kwargs), )

    # ------------------------------------------------------------------- test
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """Detections of each key frame of clips (B, T, 3, H, W), clip after clip through the
        current stream state (T > 1: explicit references); ``pred_instances`` has bboxes, scores,
        labels."""
        clips = as_clips(batch_inputs)
        results = [self._predict_frames(clip[None], [sample], [self.memories.current], rescale)[0]
                   for clip, sample in zip(clips, batch_data_samples)]
        return self.add_pred_to_datasample(batch_data_samples, results)

    def predict_streams(self, batch_inputs: Tensor, batch_data_samples: SampleList, states: Sequence[MemoryState],
                        rescale: bool = True) -> SampleList:
        """Detections of B frames of B streams, each through its own state (``states``, read and
        written in place; made by ``memories.new_state()``, all different).

        Args:
            batch_inputs: (B, 3, H, W) or (B, 1, 3, H, W), one frame per stream.
        """
        if len({id(state) for state in states}) != len(states) or len(states) != len(batch_data_samples):
            raise ValueError(f'predict_streams needs one memory state per frame, each of its own stream: got '
                             f'{len(states)} for {len(batch_data_samples)} frames')
        results = self._predict_frames(as_clips(batch_inputs)[:, :1], batch_data_samples, states, rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _predict_frames(self, clips: Tensor, samples: SampleList, states: Sequence[MemoryState],
                        rescale: bool) -> List[InstanceData]:
        """The stages of the key frames of clips (B, T, 3, H, W) (see the class docstring); T > 1
        only with B = 1 (:meth:`predict`)."""
        frames = [VideoFrame(sample, clip[:1], rescale) for clip, sample in zip(clips, samples)]
        runs = []
        for frame, state in zip(frames, states):
            with self.memories.using(state):
                self.memories.follow(frame.meta)
                runs.append(self.runs_backbone(frame))
        # one frame (a clip with references is one): its backbone stage runs in its stream's state
        with self.memories.using(states[0]) if len(states) == 1 else contextlib.nullcontext():
            references = self.extract_frames(clips, frames, runs)
        for frame, state in zip(frames, states):
            with self.memories.using(state):
                if references is not None:
                    frame.references = self.take_references(frame, references)
                frame.x = self.enhance_maps(frame)
        self.detect_frames(frames, states)
        for frame, state in zip(frames, states):
            with self.memories.using(state):
                self.write_frame(frame)
        return [frame.detections for frame in frames]

    def detect_frames(self, frames: Sequence[VideoFrame], states: Sequence[MemoryState]) -> None:
        """RPN and RoI head on the frames' maps ``x`` as one batch, each frame's :meth:`frame_keys`
        in its own state; sets ``proposals``, ``keys`` and ``detections``; writes nothing."""
        x = tuple(torch.cat(level) for level in zip(*(frame.x for frame in frames)))  # (B, C, h, w) per level
        samples = [frame.sample for frame in frames]
        proposals = self.rpn_head.predict(x, samples, rescale=False)
        for frame, frame_proposals, state in zip(frames, proposals, states):
            frame.proposals = frame_proposals
            with self.memories.using(state):
                frame.keys = self.frame_keys(frame)
        detections = self.roi_head.predict(x, proposals, samples, frames[0].rescale, **self.roi_head_kwargs(frames))
        for frame, frame_detections in zip(frames, detections):
            frame.detections = frame_detections


def _forget_states(model: BaseVideoDetector, *args) -> None:
    """Loading weights empties the stream state: what it holds came from other weights."""
    model.reset_memory()
