# RDN R-18-DC5 (the DC5 form every method of this project shares, not mega.pytorch's R-C4)
# trained from scratch on the synthetic VID data: MEGA's detector class with RDN's relation
# stages (mega.pytorch's RDN config: 2 stages on the 2 shared FCs, references kept at fc6, the
# advanced stage on their top 20%; no memory, no global frames).
#   python tools/train.py configs/synthetic/rdn_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/rdn_r18-dc5_synthetic.py <work_dir>/epoch_8.pth [--protocol rdn_offline]
# tests online (the window holds the last 37 frames); --protocol rdn_offline is RDN's (18 past +
# 18 future frames).
_base_ = './mega_r18-dc5_synthetic.py'

model = dict(
    type='RDN',
    roi_head=dict(bbox_head=dict(num_shared_fcs=2)),
    # scaled as ./mega_r18-dc5_synthetic.py; the window keeps RDN's 37 frames ('rdn_offline')
    relation_level=dict(_delete_=True, form='rdn', advanced=True, num_groups=8, num_global=0, memory_size=0,
                        global_size=0, proposals_per_frame=25, distilled_ratio=0.2, window_size=37),
    # RDN's training clip: 2 frames within +-18 of the key frame
    train_references={'local': 2, 'memory': 0, 'global_frames': 0})

vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=18, filter_key_img=False, method='uniform')
vid_train_dataset, det_train_dataset = _base_.train_dataloader.dataset.datasets
train_dataloader = dict(dataset=dict(datasets=[
    dict(vid_train_dataset, ref_img_sampler=vid_ref_img_sampler),
    dict(det_train_dataset, ref_img_sampler=dict(num_ref_imgs=2)),  # DET images: copies of the image
]))
