#include "cli/printers.hpp"

#include <yaml-cpp/yaml.h>

#include "core/table.hpp"
#include "core/text.hpp"
#include "lab/yaml_doc.hpp"

namespace knlab {

Json as_list(std::vector<Json> items) {
  return Json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}, {"metadata", {{"resourceVersion", ""}}}};
}

std::string to_json_text(const Json& j) { return j.dump(4) + "\n"; }

namespace {

void emit(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto& [k, v] : j.items()) {
      out << YAML::Key;
      emit_string(out, k);
      out << YAML::Value;
      emit(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const Json& v : j) emit(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.find('\n') != std::string::npos) out << YAML::Literal << s;
    else emit_string(out, s);
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

}  // namespace

std::string to_yaml_text(const Json& j) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emit(out, j);
  return finish(out);
}

std::string render_objects(const std::vector<Json>& objects, Kind kind, const TableOptions& o, std::int64_t now) {
  const std::vector<Column>& cols = columns_for(kind);
  std::vector<Row> rows;
  Row head;
  if (o.with_namespace) head.push_back("NAMESPACE");
  for (const Column& c : cols)
    if (!c.wide || o.wide) head.push_back(c.header);
  for (const std::string& l : o.label_columns) head.push_back(upper(l));
  if (o.show_labels) head.push_back("LABELS");
  if (!o.no_headers) rows.push_back(head);
  for (const Json& obj : objects) {
    Row r;
    if (o.with_namespace) r.push_back(obj["metadata"].value("namespace", ""));
    for (const Column& c : cols)
      if (!c.wide || o.wide) r.push_back(c.cell(obj, now));
    if (o.kind_prefix && r.size() > (o.with_namespace ? 1u : 0u)) r[o.with_namespace ? 1 : 0] = object_name(obj);
    const Json labels = obj["metadata"].value("labels", Json::object());
    for (const std::string& l : o.label_columns) r.push_back(labels.value(l, ""));
    if (o.show_labels) {
      std::vector<std::string> kv;
      for (auto& [k, v] : labels.items()) kv.push_back(k + "=" + v.get<std::string>());
      r.push_back(kv.empty() ? "<none>" : join(kv, ","));
    }
    rows.push_back(std::move(r));
  }
  return render_table(rows);
}

}  // namespace knlab
