"""Reads kiln's TensorBoard event files with TensorBoard's own readers and prints JSON.

usage: tb_read.py LOGDIR
  - every file's records through TensorBoard's TFRecord reader (it checks both CRCs of
    every record and raises DataLossError on a mismatch): "records" per file;
  - the run through EventAccumulator (purging orphaned data, as TensorBoard does):
    scalars as [step, value, wall_time], text tensors, hparams plugin data decoded by
    TensorBoard's own protos.
Exit 1 with the reader's error on stderr when a record does not check out.
"""
import glob
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.plugins.hparams import plugin_data_pb2
from google.protobuf import json_format


def count_records(path):
    reader = pywrap_tensorflow.PyRecordReader_New(path)
    n = 0
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return n
        n += 1


def main():
    logdir = sys.argv[1]
    out = {"records": {}}
    files = sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*")))
    for f in files:
        try:
            out["records"][os.path.basename(f)] = count_records(f)
        except errors.DataLossError as e:
            print("DataLossError: %s" % e, file=sys.stderr)
            return 1
    ea = event_accumulator.EventAccumulator(
        logdir, size_guidance={"scalars": 0, "tensors": 0}, purge_orphaned_data=True)
    ea.Reload()
    tags = ea.Tags()
    out["scalars"] = {t: [[e.step, e.value, e.wall_time] for e in ea.Scalars(t)] for t in tags["scalars"]}
    out["text"] = {}
    out["hparams"] = {}
    for t in tags["tensors"]:
        content = ea.SummaryMetadata(t).plugin_data
        if content.plugin_name == "text":
            out["text"][t] = [e.tensor_proto.string_val[0].decode() for e in ea.Tensors(t)]
        elif content.plugin_name == "hparams":
            data = plugin_data_pb2.HParamsPluginData.FromString(content.content)
            out["hparams"][t] = json_format.MessageToDict(data, preserving_proto_field_name=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
