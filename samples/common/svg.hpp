// samples/common/svg.hpp — a small line-plot writer: plain SVG 1.1 with axes, ticks, tick
// labels, axis labels, a title and a legend, viewable in any browser. Each line is a <path>
// with its label as its <title> (a tooltip in a browser, and a handle for the tests).
// Header-only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace sample {

struct Series {
  std::string label;
  std::vector<double> x, y;  // NaN or infinite points break the line
  std::string color;         // CSS color; empty: from the palette
  bool dashed = false;
  double width = 2;     // stroke width
  bool on_top = false;  // drawn after every other line (the legend keeps the series' order)
};

struct Plot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  double width = 640, height = 420;
  double legend_width = 170;  // the legend's column on the right
  double y_margin = 0;        // widen the y range by this fraction of the data's span on each side
                              // (keeps lines at the extremes off the frame)

  /// Writes the plot to `path`; false if the file cannot be written.
  bool write(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    std::fputs(render().c_str(), f);
    return std::fclose(f) == 0;
  }

  std::string render() const {
    static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    const double left = 70, right = legend_width, top = 40, bottom = 55;
    const double pw = width - left - right, ph = height - top - bottom;
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const Series& s : series) {
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
      }
    }
    if (!(x0 < x1)) x0 -= 1, x1 += 1;
    if (!(y0 < y1)) y0 -= 1, y1 += 1;
    const double margin = (y1 - y0) * y_margin;
    y0 -= margin, y1 += margin;
    const std::vector<double> xt = ticks(x0, x1), yt = ticks(y0, y1);
    x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back());
    y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
    const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
    const auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * ph; };

    std::string o;
    o +=
        fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g "
            "%g\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            width, height, width, height);
    o += fmt("<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", width, height);
    o += "<text x=\"" + num(left + pw / 2) +
         "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
    // Grid, ticks and tick labels.
    for (double t : xt) {
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e6e6e6\"/>\n",
               px(t), top, px(t), top + ph);
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", px(t),
               top + ph, px(t), top + ph + 5);
      o += "<text x=\"" + num(px(t)) + "\" y=\"" + num(top + ph + 18) +
           "\" text-anchor=\"middle\">" + label(t) + "</text>\n";
    }
    for (double t : yt) {
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e6e6e6\"/>\n", left,
               py(t), left + pw, py(t));
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n",
               left - 5, py(t), left, py(t));
      o += "<text x=\"" + num(left - 8) + "\" y=\"" + num(py(t) + 4) + "\" text-anchor=\"end\">" +
           label(t) + "</text>\n";
    }
    // Axes: the frame, and the zero lines when inside.
    o +=
        fmt("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
            "stroke=\"black\"/>\n",
            left, top, pw, ph);
    if (x0 < 0 && x1 > 0)
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\"/>\n", px(0),
               top, px(0), top + ph);
    if (y0 < 0 && y1 > 0)
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\"/>\n", left,
               py(0), left + pw, py(0));
    o += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(height - 12) +
         "\" text-anchor=\"middle\">" + escape(x_label) + "</text>\n";
    o += "<text transform=\"translate(18," + num(top + ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_label) + "</text>\n";
    // Lines (those on top last), then the legend.
    const auto color = [&](std::size_t k) {
      return series[k].color.empty() ? std::string(palette[k % 8]) : series[k].color;
    };
    const auto dash = [](const Series& s) {
      return std::string(s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    };
    std::vector<std::size_t> order;
    for (int top_pass = 0; top_pass < 2; ++top_pass) {
      for (std::size_t k = 0; k < series.size(); ++k) {
        if (series[k].on_top == (top_pass == 1)) order.push_back(k);
      }
    }
    for (std::size_t k : order) {
      const Series& s = series[k];
      std::string d;
      bool pen = false;
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
          pen = false;
          continue;
        }
        d += fmt("%s%.2f,%.2f ", pen ? "L" : "M", px(s.x[i]), py(s.y[i]));
        pen = true;
      }
      o += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color(k) + "\" stroke-width=\"" +
           label(s.width) + "\"" + dash(s) + "><title>" + escape(s.label) + "</title></path>\n";
    }
    for (std::size_t k = 0; k < series.size(); ++k) {
      const Series& s = series[k];
      const double ly = top + 14 + 20.0 * k;
      o += fmt("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" ",
               left + pw + 12, ly, left + pw + 38, ly, color(k).c_str()) +
           "stroke-width=\"" + label(s.width) + "\"" + dash(s) + "/>\n";
      o += "<text x=\"" + num(left + pw + 44) + "\" y=\"" + num(ly + 4) + "\">" + escape(s.label) +
           "</text>\n";
    }
    return o + "</svg>\n";
  }

 private:
  /// About 5-8 round tick values covering [lo, hi].
  static std::vector<double> ticks(double lo, double hi) {
    const double raw = (hi - lo) / 6;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (raw <= m * mag) {
        step = m * mag;
        break;
      }
    }
    std::vector<double> t;
    for (double v = std::floor(lo / step) * step; v <= hi + step * 0.5; v += step)
      t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
    return t;
  }
  static std::string label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  static std::string num(double v) { return label(std::round(v * 100) / 100); }
  template <class... A>
  static std::string fmt(const char* f, A... a) {
    char buf[512];
    std::snprintf(buf, sizeof buf, f, a...);
    return buf;
  }
  static std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '<')
        o += "&lt;";
      else if (c == '>')
        o += "&gt;";
      else if (c == '&')
        o += "&amp;";
      else
        o += c;
    }
    return o;
  }
};

}  // namespace sample
