#include "metrics/tb_event.h"

#include <nlohmann/json.hpp>

#include "metrics/protobuf.h"

namespace kiln::metrics::tb {
namespace {

// Field numbers, from tensorboard/compat/proto and tensorboard/plugins/hparams.
namespace event {
constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5, kSessionLog = 7;
}
namespace value {
constexpr int kTag = 1, kSimpleValue = 2, kTensor = 8, kMetadata = 9;
}
namespace metadata {
constexpr int kPluginData = 1;                // data_class is left unset, as TensorBoard's text and hparams writers do
constexpr int kPluginName = 1, kContent = 2;  // PluginData
}  // namespace metadata
namespace tensor {
constexpr int kDtype = 1, kShape = 2, kStringVal = 8;
constexpr int kDtFloat = 1, kDtString = 7;
}  // namespace tensor
namespace hparams {
constexpr int kVersion = 1, kExperiment = 2, kSessionStart = 3, kSessionEnd = 4;     // HParamsPluginData
constexpr int kStartHparams = 1, kStartGroup = 4, kStartTime = 5;                    // SessionStartInfo
constexpr int kEndStatus = 1, kEndTime = 2;                                          // SessionEndInfo
constexpr int kExpName = 6, kExpTime = 3, kExpHparamInfos = 4, kExpMetricInfos = 5;  // Experiment
constexpr int kInfoName = 1, kInfoType = 4;                                          // HParamInfo
constexpr int kMetricName = 1, kMetricTag = 2;                                       // MetricInfo.name, MetricName.tag
constexpr int kTypeString = 1, kTypeBool = 2, kTypeFloat64 = 3;
}  // namespace hparams
// google.protobuf.Value's oneof (struct.proto).
namespace pbvalue {
constexpr int kNumber = 2, kString = 3, kBool = 4;
}

proto::Writer header(double wall_time, int64_t step) {
  proto::Writer e;
  e.fixed64_double(event::kWallTime, wall_time);
  if (step != 0) e.int64(event::kStep, step);
  return e;
}

std::string with_summary(double wall_time, int64_t step, const proto::Writer& summary) {
  proto::Writer e = header(wall_time, step);
  e.message(event::kSummary, summary);
  return e.str();
}

proto::Writer plugin_metadata(const std::string& plugin, const std::string& content) {
  proto::Writer pd;
  pd.bytes(metadata::kPluginName, plugin);
  if (!content.empty()) pd.bytes(metadata::kContent, content);
  proto::Writer md;
  md.message(metadata::kPluginData, pd);
  return md;
}

// An HParams summary: the plugin data in the metadata and, as the tensor, an empty float
// vector (TensorBoard's own writer's NULL_TENSOR).
std::string hparams_summary(double wall_time, const std::string& tag, const proto::Writer& data) {
  proto::Writer zero;
  zero.varint(tensor::kDtype, tensor::kDtFloat);
  proto::Writer dim, shape;
  dim.varint(1, 0);  // TensorShapeProto.Dim.size = 0
  shape.message(2, dim);
  zero.message(tensor::kShape, shape);
  proto::Writer v;
  v.bytes(value::kTag, tag);
  v.message(value::kMetadata, plugin_metadata("hparams", data.str()));
  v.message(value::kTensor, zero);
  proto::Writer s;
  s.message(1, v);
  return with_summary(wall_time, 0, s);
}

proto::Writer pb_value(const nlohmann::json& j) {
  proto::Writer v;
  if (j.is_boolean()) {
    v.varint(pbvalue::kBool, j.get<bool>() ? 1 : 0);
  } else if (j.is_number()) {
    v.fixed64_double(pbvalue::kNumber, j.get<double>());
  } else {
    v.bytes(pbvalue::kString, j.is_string() ? j.get<std::string>() : j.dump());
  }
  return v;
}

}  // namespace

std::string file_version(double wall_time) {
  proto::Writer e = header(wall_time, 0);
  e.bytes(event::kFileVersion, "brain.Event:2");
  return e.str();
}

std::string scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  proto::Writer s;
  for (const auto& [tag, x] : values) {
    proto::Writer v;
    v.bytes(value::kTag, tag);
    v.fixed32_float(value::kSimpleValue, float(x));
    s.message(1, v);
  }
  return with_summary(wall_time, step, s);
}

std::string text(double wall_time, int64_t step, const std::string& tag, const std::string& markdown) {
  proto::Writer t;  // a scalar DT_STRING tensor
  t.varint(tensor::kDtype, tensor::kDtString);
  t.message(tensor::kShape, proto::Writer{});
  t.bytes(tensor::kStringVal, markdown);
  proto::Writer v;
  v.bytes(value::kTag, tag);
  v.message(value::kMetadata, plugin_metadata("text", ""));
  v.message(value::kTensor, t);
  proto::Writer s;
  s.message(1, v);
  return with_summary(wall_time, step, s);
}

std::string session_start(double wall_time, int64_t step) {
  proto::Writer log;
  log.varint(1, 1);  // SessionLog.status = START
  proto::Writer e = header(wall_time, step);
  e.message(event::kSessionLog, log);
  return e.str();
}

std::string hparams_session_start(double wall_time, const nlohmann::json& hparams, const std::string& group) {
  proto::Writer info;
  for (const auto& [k, v] : hparams.items()) {
    proto::Writer entry;  // map<string, google.protobuf.Value> entry
    entry.bytes(1, k);
    entry.message(2, pb_value(v));
    info.message(hparams::kStartHparams, entry);
  }
  if (!group.empty()) info.bytes(hparams::kStartGroup, group);
  info.fixed64_double(hparams::kStartTime, wall_time);
  proto::Writer d;
  d.varint(hparams::kVersion, 0);
  d.message(hparams::kSessionStart, info);
  return hparams_summary(wall_time, "_hparams_/session_start_info", d);
}

std::string hparams_session_end(double wall_time, SessionStatus status) {
  proto::Writer info;
  info.varint(hparams::kEndStatus, uint64_t(status));
  info.fixed64_double(hparams::kEndTime, wall_time);
  proto::Writer d;
  d.varint(hparams::kVersion, 0);
  d.message(hparams::kSessionEnd, info);
  return hparams_summary(wall_time, "_hparams_/session_end_info", d);
}

std::string hparams_experiment(double wall_time, const std::string& name, const nlohmann::json& hparams,
                               const std::vector<std::string>& metric_tags) {
  proto::Writer exp;
  exp.bytes(hparams::kExpName, name);
  exp.fixed64_double(hparams::kExpTime, wall_time);
  for (const auto& [k, v] : hparams.items()) {  // name -> an example value, for its type
    proto::Writer info;
    info.bytes(hparams::kInfoName, k);
    info.varint(hparams::kInfoType, v.is_boolean()  ? hparams::kTypeBool
                                    : v.is_number() ? hparams::kTypeFloat64
                                                    : hparams::kTypeString);
    exp.message(hparams::kExpHparamInfos, info);
  }
  for (const std::string& tag : metric_tags) {
    proto::Writer mn;
    mn.bytes(hparams::kMetricTag, tag);
    proto::Writer mi;
    mi.message(hparams::kMetricName, mn);
    exp.message(hparams::kExpMetricInfos, mi);
  }
  proto::Writer d;
  d.varint(hparams::kVersion, 0);
  d.message(hparams::kExperiment, exp);
  return hparams_summary(wall_time, "_hparams_/experiment", d);
}

}  // namespace kiln::metrics::tb
