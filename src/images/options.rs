//! Parses and validates the transformation plan that the TypeScript binding
//! sends as JSON: the `transform`, `draw` and `output` options of production's
//! Images API, checked once here before any pixel is touched.

use image::Rgba;
use serde_json::{Map, Value};

use super::error::{invalid, ImagesError};

/// Maximum `blur` radius, from the `BasicImageTransformations` docs in
/// `@cloudflare/workers-types`.
pub const MAX_BLUR: f64 = 250.0;

/// Maximum `sharpen` strength, from the same docs.
pub const MAX_SHARPEN: f64 = 10.0;

/// JPEG and WebP quality when `output` names none; production's default is 85.
pub const DEFAULT_QUALITY: u8 = 85;

/// The whole request: operations in order, then the encoding.
#[derive(Debug)]
pub struct Plan {
    pub operations: Vec<Operation>,
    pub output: OutputOptions,
}

/// One step. Image 0 is the canvas; images 1.. are overlays, each transformed
/// by its own steps before it is drawn.
#[derive(Debug)]
pub enum Operation {
    Transform {
        image: usize,
        transform: Box<Transform>,
    },
    Draw {
        image: usize,
        target: usize,
        options: Box<DrawOptions>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    ScaleDown,
    ScaleUp,
    Contain,
    Cover,
    Crop,
    Pad,
    Squeeze,
}

/// The focal point that `cover` and `crop` keep, as fractions of the width
/// and height. `box_center` places the crop box's center on the
/// point; otherwise the point divides the cropped-off remainder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gravity {
    pub x: f64,
    pub y: f64,
    pub box_center: bool,
}

impl Gravity {
    pub const CENTER: Gravity = Gravity {
        x: 0.5,
        y: 0.5,
        box_center: false,
    };
}

/// `trim`: pixels cut from each side, an optional final size, and optional
/// detection of a uniform border.
#[derive(Debug, Clone, Default)]
pub struct Trim {
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub left: f64,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub border: Option<TrimBorder>,
}

/// `trim.border`: the color to cut (the top-left pixel when absent), how far
/// a channel may differ from it (0-255), and how many border pixels to keep.
#[derive(Debug, Clone, Default)]
pub struct TrimBorder {
    pub color: Option<Rgba<u8>>,
    pub tolerance: f64,
    pub keep: f64,
}

/// `border`: widths in pixels for each side, before `dpr`.
#[derive(Debug, Clone)]
pub struct Border {
    pub color: Rgba<u8>,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub left: f64,
}

/// One `transform({...})` call.
#[derive(Debug, Clone)]
pub struct Transform {
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub dpr: f64,
    pub fit: Option<Fit>,
    pub gravity: Gravity,
    pub background: Option<Rgba<u8>>,
    pub blur: Option<f64>,
    pub sharpen: Option<f64>,
    pub brightness: Option<f64>,
    pub contrast: Option<f64>,
    pub gamma: Option<f64>,
    pub saturation: Option<f64>,
    pub rotate: u32,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub trim: Option<Trim>,
    pub border: Option<Border>,
    pub segment: bool,
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            width: None,
            height: None,
            dpr: 1.0,
            fit: None,
            gravity: Gravity::CENTER,
            background: None,
            blur: None,
            sharpen: None,
            brightness: None,
            contrast: None,
            gamma: None,
            saturation: None,
            rotate: 0,
            flip_horizontal: false,
            flip_vertical: false,
            trim: None,
            border: None,
            segment: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composite {
    Over,
    In,
    Atop,
    Out,
    Xor,
    Lighter,
}

/// The options of one `draw(overlay, {...})` call.
#[derive(Debug, Clone)]
pub struct DrawOptions {
    pub opacity: f64,
    pub repeat_x: bool,
    pub repeat_y: bool,
    pub composite: Composite,
    pub top: Option<f64>,
    pub left: Option<f64>,
    pub bottom: Option<f64>,
    pub right: Option<f64>,
    /// `width`, `height`, `fit` and `background` given on the draw itself,
    /// applied to the overlay before it is placed.
    pub resize: Option<Transform>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
    Avif,
    Rgb,
    Rgba,
}

impl OutputFormat {
    /// Returns the `content-type` of an output in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Gif => "image/gif",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Avif => "image/avif",
            // NOTE: the content type production gives raw pixel output is not
            // documented; bunflare uses application/octet-stream.
            OutputFormat::Rgb | OutputFormat::Rgba => "application/octet-stream",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutputOptions {
    pub format: OutputFormat,
    pub quality: u8,
    pub background: Option<Rgba<u8>>,
    pub anim: bool,
}

/// Parses the plan JSON built by `lib/bindings/images.ts`.
pub fn parse_plan(json: &str) -> Result<Plan, ImagesError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| invalid(format!("malformed transformation plan: {e}")))?;
    let root = as_object(&value, "plan")?;

    let mut operations = Vec::new();
    for step in root
        .get("operations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        operations.push(parse_operation(step)?);
    }

    let output = parse_output(root.get("output").unwrap_or(&Value::Null))?;
    Ok(Plan { operations, output })
}

fn parse_operation(step: &Value) -> Result<Operation, ImagesError> {
    let step = as_object(step, "operation")?;
    let index = |name: &str| -> Result<usize, ImagesError> {
        step.get(name)
            .and_then(Value::as_u64)
            .map(|i| i as usize)
            .ok_or_else(|| invalid(format!("operation is missing its {name} index")))
    };

    if let Some(options) = step.get("draw") {
        let options = parse_draw(options)?;
        return Ok(Operation::Draw {
            image: index("image")?,
            target: index("target")?,
            options: Box::new(options),
        });
    }

    let transform = parse_transform(step.get("transform").unwrap_or(&Value::Null))?;
    Ok(Operation::Transform {
        image: index("image")?,
        transform: Box::new(transform),
    })
}

/// Parses one `transform({...})` argument.
pub fn parse_transform(value: &Value) -> Result<Transform, ImagesError> {
    let object = as_object(value, "transform")?;
    let mut transform = Transform {
        width: optional_size(object, "width")?,
        height: optional_size(object, "height")?,
        ..Transform::default()
    };

    if let Some(dpr) = optional_number(object, "dpr")? {
        if dpr <= 0.0 {
            return Err(invalid(format!("dpr must be greater than 0, got {dpr}")));
        }
        transform.dpr = dpr;
    }

    transform.fit = match optional_string(object, "fit")? {
        None => None,
        Some(fit) => Some(parse_fit(fit)?),
    };
    if let Some(gravity) = object.get("gravity").filter(|v| !v.is_null()) {
        transform.gravity = parse_gravity(gravity)?;
    }
    if let Some(color) = optional_string(object, "background")? {
        transform.background = Some(parse_color(color)?);
    }

    transform.blur = ranged(object, "blur", 0.0, MAX_BLUR)?;
    transform.sharpen = ranged(object, "sharpen", 0.0, MAX_SHARPEN)?;
    transform.brightness = ranged(object, "brightness", 0.0, f64::MAX)?;
    transform.contrast = ranged(object, "contrast", 0.0, f64::MAX)?;
    transform.gamma = ranged(object, "gamma", 0.0, f64::MAX)?;
    transform.saturation = ranged(object, "saturation", 0.0, f64::MAX)?;

    if let Some(rotate) = optional_number(object, "rotate")? {
        transform.rotate = match rotate {
            0.0 | 360.0 => 0,
            90.0 => 90,
            180.0 => 180,
            270.0 => 270,
            r => {
                return Err(invalid(format!(
                    "rotate must be 0, 90, 180, 270 or 360, got {r}"
                )))
            }
        };
    }
    match optional_string(object, "flip")? {
        None => {}
        Some("h") => transform.flip_horizontal = true,
        Some("v") => transform.flip_vertical = true,
        Some("hv") | Some("vh") => {
            transform.flip_horizontal = true;
            transform.flip_vertical = true;
        }
        Some(other) => {
            return Err(invalid(format!(
                "flip must be \"h\", \"v\" or \"hv\", got {other:?}"
            )))
        }
    }

    if let Some(trim) = object.get("trim").filter(|v| !v.is_null()) {
        transform.trim = Some(parse_trim(trim)?);
    }
    if let Some(border) = object.get("border").filter(|v| !v.is_null()) {
        transform.border = Some(parse_border(border)?);
    }
    match optional_string(object, "segment")? {
        None => {}
        Some("foreground") => transform.segment = true,
        Some(other) => {
            return Err(invalid(format!(
                "segment must be \"foreground\", got {other:?}"
            )))
        }
    }

    Ok(transform)
}

fn parse_fit(fit: &str) -> Result<Fit, ImagesError> {
    Ok(match fit {
        "scale-down" => Fit::ScaleDown,
        "scale-up" => Fit::ScaleUp,
        "contain" => Fit::Contain,
        "cover" => Fit::Cover,
        "crop" => Fit::Crop,
        "pad" => Fit::Pad,
        "squeeze" => Fit::Squeeze,
        other => {
            return Err(invalid(format!(
                "fit must be one of scale-down, scale-up, contain, cover, crop, pad, squeeze; got {other:?}"
            )))
        }
    })
}

fn parse_gravity(value: &Value) -> Result<Gravity, ImagesError> {
    if let Some(side) = value.as_str() {
        let point = |x, y| Gravity {
            x,
            y,
            box_center: false,
        };
        return Ok(match side {
            "center" => Gravity::CENTER,
            "left" => point(0.0, 0.5),
            "right" => point(1.0, 0.5),
            "top" => point(0.5, 0.0),
            "bottom" => point(0.5, 1.0),
            // NOTE: production detects the subject (saliency for auto and
            // entropy, faces for face); bunflare crops around the center.
            "auto" | "entropy" | "face" => Gravity::CENTER,
            other => {
                return Err(invalid(format!(
                    "gravity must be left, right, top, bottom, center, auto, entropy, face or {{x, y}}; got {other:?}"
                )))
            }
        });
    }

    let object = as_object(value, "gravity")?;
    let fraction = |name: &str| -> Result<f64, ImagesError> {
        match optional_number(object, name)? {
            None => Ok(0.5),
            Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
            Some(v) => Err(invalid(format!(
                "gravity.{name} must be between 0 and 1, got {v}"
            ))),
        }
    };
    let box_center = match optional_string(object, "mode")? {
        None | Some("remainder") => false,
        Some("box-center") => true,
        Some(other) => {
            return Err(invalid(format!(
                "gravity.mode must be remainder or box-center, got {other:?}"
            )))
        }
    };
    Ok(Gravity {
        x: fraction("x")?,
        y: fraction("y")?,
        box_center,
    })
}

fn parse_trim(value: &Value) -> Result<Trim, ImagesError> {
    if value.as_str() == Some("border") {
        return Ok(Trim {
            border: Some(TrimBorder::default()),
            ..Trim::default()
        });
    }

    let object = as_object(value, "trim")?;
    let side = |name: &str| -> Result<f64, ImagesError> {
        Ok(ranged(object, name, 0.0, f64::MAX)?.unwrap_or(0.0))
    };
    let mut trim = Trim {
        top: side("top")?,
        right: side("right")?,
        bottom: side("bottom")?,
        left: side("left")?,
        width: optional_size(object, "width")?,
        height: optional_size(object, "height")?,
        border: None,
    };

    match object.get("border") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => trim.border = Some(TrimBorder::default()),
        Some(border) => {
            let border = as_object(border, "trim.border")?;
            let color = match optional_string(border, "color")? {
                Some(color) => Some(parse_color(color)?),
                None => None,
            };
            trim.border = Some(TrimBorder {
                color,
                tolerance: ranged(border, "tolerance", 0.0, 255.0)?.unwrap_or(0.0),
                keep: ranged(border, "keep", 0.0, f64::MAX)?.unwrap_or(0.0),
            });
        }
    }
    Ok(trim)
}

fn parse_border(value: &Value) -> Result<Border, ImagesError> {
    let object = as_object(value, "border")?;
    let color = match optional_string(object, "color")? {
        Some(color) => parse_color(color)?,
        None => Rgba([0, 0, 0, 255]),
    };

    if let Some(width) = ranged(object, "width", 0.0, f64::MAX)? {
        return Ok(Border {
            color,
            top: width,
            right: width,
            bottom: width,
            left: width,
        });
    }
    let side = |name: &str| -> Result<f64, ImagesError> {
        Ok(ranged(object, name, 0.0, f64::MAX)?.unwrap_or(0.0))
    };
    Ok(Border {
        color,
        top: side("top")?,
        right: side("right")?,
        bottom: side("bottom")?,
        left: side("left")?,
    })
}

fn parse_draw(value: &Value) -> Result<DrawOptions, ImagesError> {
    let object = as_object(value, "draw options")?;

    let opacity = ranged(object, "opacity", 0.0, 1.0)?.unwrap_or(1.0);
    let (repeat_x, repeat_y) = match object.get("repeat") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => (false, false),
        Some(Value::Bool(true)) => (true, true),
        Some(Value::String(axis)) if axis == "x" => (true, false),
        Some(Value::String(axis)) if axis == "y" => (false, true),
        Some(other) => {
            return Err(invalid(format!(
                "repeat must be true, \"x\" or \"y\", got {other}"
            )))
        }
    };
    let composite = match optional_string(object, "composite")? {
        None | Some("over") => Composite::Over,
        Some("in") => Composite::In,
        Some("atop") => Composite::Atop,
        Some("out") => Composite::Out,
        Some("xor") => Composite::Xor,
        Some("lighter") => Composite::Lighter,
        Some(other) => {
            return Err(invalid(format!(
                "composite must be over, in, atop, out, xor or lighter; got {other:?}"
            )))
        }
    };

    let top = optional_number(object, "top")?;
    let bottom = optional_number(object, "bottom")?;
    let left = optional_number(object, "left")?;
    let right = optional_number(object, "right")?;
    if top.is_some() && bottom.is_some() {
        return Err(invalid(
            "draw: setting both top and bottom is an error; give one of them",
        ));
    }
    if left.is_some() && right.is_some() {
        return Err(invalid(
            "draw: setting both left and right is an error; give one of them",
        ));
    }

    let resizes = ["width", "height", "fit", "background"]
        .iter()
        .any(|k| object.get(*k).is_some_and(|v| !v.is_null()));
    let resize = if resizes {
        let mut only = Map::new();
        for key in ["width", "height", "fit", "background"] {
            if let Some(v) = object.get(key) {
                only.insert(key.to_string(), v.clone());
            }
        }
        Some(parse_transform(&Value::Object(only))?)
    } else {
        None
    };

    Ok(DrawOptions {
        opacity,
        repeat_x,
        repeat_y,
        composite,
        top,
        left,
        bottom,
        right,
        resize,
    })
}

fn parse_output(value: &Value) -> Result<OutputOptions, ImagesError> {
    let object = as_object(value, "output options")?;

    let format = match optional_string(object, "format")? {
        Some("image/png") => OutputFormat::Png,
        Some("image/jpeg") => OutputFormat::Jpeg,
        Some("image/gif") => OutputFormat::Gif,
        Some("image/webp") => OutputFormat::Webp,
        Some("image/avif") => OutputFormat::Avif,
        Some("rgb") => OutputFormat::Rgb,
        Some("rgba") => OutputFormat::Rgba,
        Some(other) => {
            return Err(invalid(format!(
                "Unsupported output format {other:?}: use image/png, image/jpeg, image/gif, image/webp, image/avif, rgb or rgba"
            )))
        }
        None => return Err(invalid("output format is missing: use image/png, image/jpeg, image/gif, image/webp, image/avif, rgb or rgba")),
    };

    let quality = match optional_number(object, "quality")? {
        None => DEFAULT_QUALITY,
        Some(q) if (1.0..=100.0).contains(&q) => q.round() as u8,
        Some(q) => {
            return Err(invalid(format!(
                "quality must be between 1 and 100, got {q}"
            )))
        }
    };
    let background = match optional_string(object, "background")? {
        Some(color) => Some(parse_color(color)?),
        None => None,
    };
    let anim = match object.get("anim") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(anim)) => *anim,
        Some(other) => return Err(invalid(format!("anim must be a boolean, got {other}"))),
    };

    Ok(OutputOptions {
        format,
        quality,
        background,
        anim,
    })
}

/// Parses a CSS color: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb(r,g,b)`,
/// `rgba(r,g,b,a)` or one of the common named colors.
pub fn parse_color(text: &str) -> Result<Rgba<u8>, ImagesError> {
    let text = text.trim().to_ascii_lowercase();
    let bad = || {
        invalid(format!("invalid color {text:?}: use #rrggbb, #rrggbbaa, rgb(r,g,b), rgba(r,g,b,a) or a color name"))
    };

    if let Some(hex) = text.strip_prefix('#') {
        let digits: Vec<u8> = hex
            .chars()
            .map(|c| c.to_digit(16).map(|d| d as u8))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        let [r, g, b, a] = match digits.len() {
            3 => [digits[0] * 17, digits[1] * 17, digits[2] * 17, 255],
            4 => [
                digits[0] * 17,
                digits[1] * 17,
                digits[2] * 17,
                digits[3] * 17,
            ],
            6 => [
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                255,
            ],
            8 => [
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                digits[6] * 16 + digits[7],
            ],
            _ => return Err(bad()),
        };
        return Ok(Rgba([r, g, b, a]));
    }

    let functional = text
        .strip_prefix("rgba(")
        .or_else(|| text.strip_prefix("rgb("))
        .and_then(|rest| rest.strip_suffix(')'));
    if let Some(arguments) = functional {
        let parts: Vec<&str> = arguments.split(',').map(str::trim).collect();
        if parts.len() != 3 && parts.len() != 4 {
            return Err(bad());
        }
        let channel = |part: &str| -> Option<u8> {
            part.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=255.0).contains(v))
                .map(|v| v.round() as u8)
        };
        let r = channel(parts[0]).ok_or_else(bad)?;
        let g = channel(parts[1]).ok_or_else(bad)?;
        let b = channel(parts[2]).ok_or_else(bad)?;
        let a = match parts.get(3) {
            None => 255,
            Some(alpha) => alpha
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .map(|v| (v * 255.0).round() as u8)
                .ok_or_else(bad)?,
        };
        return Ok(Rgba([r, g, b, a]));
    }

    // The CSS basic color keywords, plus transparent.
    let named = match text.as_str() {
        "transparent" => [0, 0, 0, 0],
        "black" => [0, 0, 0, 255],
        "white" => [255, 255, 255, 255],
        "red" => [255, 0, 0, 255],
        "lime" => [0, 255, 0, 255],
        "green" => [0, 128, 0, 255],
        "blue" => [0, 0, 255, 255],
        "yellow" => [255, 255, 0, 255],
        "cyan" | "aqua" => [0, 255, 255, 255],
        "magenta" | "fuchsia" => [255, 0, 255, 255],
        "gray" | "grey" => [128, 128, 128, 255],
        "silver" => [192, 192, 192, 255],
        "maroon" => [128, 0, 0, 255],
        "olive" => [128, 128, 0, 255],
        "purple" => [128, 0, 128, 255],
        "teal" => [0, 128, 128, 255],
        "navy" => [0, 0, 128, 255],
        "orange" => [255, 165, 0, 255],
        _ => return Err(bad()),
    };
    Ok(Rgba(named))
}

fn as_object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ImagesError> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(EMPTY.get_or_init(Map::new)),
        other => Err(invalid(format!("{what} must be an object, got {other}"))),
    }
}

fn optional_number(object: &Map<String, Value>, name: &str) -> Result<Option<f64>, ImagesError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(invalid(format!("{name} must be a number, got {other}"))),
    }
}

fn optional_string<'a>(
    object: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ImagesError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!("{name} must be a string, got {other}"))),
    }
}

/// Reads a number that must lie in `min..=max`.
fn ranged(
    object: &Map<String, Value>,
    name: &str,
    min: f64,
    max: f64,
) -> Result<Option<f64>, ImagesError> {
    match optional_number(object, name)? {
        Some(v) if !(min..=max).contains(&v) => {
            let upper = if max == f64::MAX {
                String::from("")
            } else {
                format!(" and at most {max}")
            };
            Err(invalid(format!(
                "{name} must be at least {min}{upper}, got {v}"
            )))
        }
        other => Ok(other),
    }
}

/// Reads `width` or `height`: a positive integer number of pixels.
fn optional_size(object: &Map<String, Value>, name: &str) -> Result<Option<f64>, ImagesError> {
    match optional_number(object, name)? {
        Some(v) if v < 1.0 || v.fract() != 0.0 => Err(invalid(format!(
            "{name} must be a positive integer, got {v}"
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_forms() {
        assert_eq!(parse_color("#fff").unwrap(), Rgba([255, 255, 255, 255]));
        assert_eq!(parse_color("#FF000080").unwrap(), Rgba([255, 0, 0, 128]));
        assert_eq!(
            parse_color("rgba(0, 128, 255, 0.5)").unwrap(),
            Rgba([0, 128, 255, 128])
        );
        assert_eq!(parse_color("transparent").unwrap(), Rgba([0, 0, 0, 0]));
        assert!(parse_color("#12").is_err());
        assert!(parse_color("rgb(300,0,0)").is_err());
        assert!(parse_color("hsl(0, 100%, 50%)").is_err());
    }

    #[test]
    fn plan_rejects_bad_options() {
        let plan = |transform: &str| {
            parse_plan(&format!(
                r#"{{"operations":[{{"image":0,"transform":{transform}}}],"output":{{"format":"image/png"}}}}"#
            ))
        };
        assert!(plan(r#"{"rotate":45}"#).is_err());
        assert!(plan(r#"{"blur":251}"#).is_err());
        assert!(plan(r#"{"fit":"fill"}"#).is_err());
        assert!(plan(r#"{"width":0}"#).is_err());
        assert!(plan(r#"{"width":10.5}"#).is_err());
        assert!(plan(r#"{"gravity":{"x":2}}"#).is_err());
        assert!(plan(r#"{"width":10,"fit":"cover","gravity":"left","rotate":90}"#).is_ok());
    }

    #[test]
    fn output_defaults() {
        let plan = parse_plan(r#"{"operations":[],"output":{"format":"image/jpeg"}}"#).unwrap();
        assert_eq!(plan.output.quality, DEFAULT_QUALITY);
        assert!(plan.output.anim);
        assert!(parse_plan(r#"{"output":{"format":"image/bmp"}}"#).is_err());
        assert!(parse_plan(r#"{"output":{"format":"image/png","quality":0}}"#).is_err());
    }
}
