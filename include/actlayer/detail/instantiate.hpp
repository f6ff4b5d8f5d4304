// actlayer/detail/instantiate.hpp — every entry point instantiated once per element type, its
// signature written only where it is declared and where it is defined.
//
//   ACTLAYER_ENTRY_POINTS(cuda_api_entry_points, &forward<T>, &backward<T>)
//   ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(cuda_api_entry_points)
//
// The first defines a function template returning a table of the entry points' addresses for T;
// the second instantiates it for every element type, so the compiler must emit each entry point
// the table names.
#pragma once

#include "actlayer/element.hpp"

namespace actlayer::detail {

using EntryPoint = void (*)();

template <class... Fn>
const EntryPoint* entry_points(Fn... fn) {
  static const EntryPoint table[] = {reinterpret_cast<EntryPoint>(fn)...};
  return table;
}

}  // namespace actlayer::detail

#define ACTLAYER_ENTRY_POINTS(table, ...)                 \
  template <class T>                                      \
  const ::actlayer::detail::EntryPoint* table() {         \
    return ::actlayer::detail::entry_points(__VA_ARGS__); \
  }
#define ACTLAYER_INSTANTIATE_TABLE(T, table) \
  template const ::actlayer::detail::EntryPoint* table<T>();
#define ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(table) \
  ACTLAYER_FOR_EACH_ELEMENT(ACTLAYER_INSTANTIATE_TABLE, table)
